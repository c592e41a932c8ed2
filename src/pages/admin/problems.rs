//! The problem queue (群众点单 — 网格下单 — 党员接单): problems that came up to the
//! coordinator's level or sit below it in their area, with the whole trail;
//! assign, start, answer, escalate one level up, or reopen.

use daohu_domain::{Account, EventKind, ProblemEvent, ProblemEventBatch, ProblemState, ProblemView, ReceiptStatus, SyncResponse};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::{load, report, require_coordinator, AdminNav, ErrorLine};
use crate::components::problem::change_label;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

#[component]
pub fn ProblemsPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let problems = RwSignal::new(None::<Vec<ProblemView>>);
    let accounts = RwSignal::new(None::<Vec<Account>>);
    let error = RwSignal::new(None::<String>);
    let open_only = RwSignal::new(true);
    let overdue_only = RwSignal::new(false);
    let refresh = move || {
        let mut q = String::from("/api/problems?");
        if open_only.get_untracked() {
            q.push_str("open=true&");
        }
        if overdue_only.get_untracked() {
            q.push_str("overdue=true");
        }
        load(ctx, q, problems, error);
    };
    load(ctx, "/api/accounts".into(), accounts, error);
    refresh();

    let send = move |problem_id: Uuid, change: EventKind| {
        let Some(client) = ctx.api() else { return };
        let batch = ProblemEventBatch {
            device_id: ctx.device_id,
            events: vec![ProblemEvent { id: time::new_id(), problem_id, at: time::now_utc(), change }],
        };
        spawn_local(async move {
            match client.send::<_, SyncResponse>("POST", "/api/problems/events", Some(&batch)).await {
                Ok(r) => {
                    if let Some(bad) = r.receipts.iter().find(|x| x.status == ReceiptStatus::Rejected) {
                        error.set(bad.reason.clone());
                    }
                    refresh();
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminProblems/>
            <h1>{ctx.tr("群众诉求", "Problems")}</h1>
            <ErrorLine error=error/>
            <div class="filters">
                <label class="check"><input type="checkbox" prop:checked=open_only on:change=move |ev| { open_only.set(event_target_checked(&ev)); refresh(); }/>{ctx.tr("只看未办结", "Open only")}</label>
                <label class="check"><input type="checkbox" prop:checked=overdue_only on:change=move |ev| { overdue_only.set(event_target_checked(&ev)); refresh(); }/>{ctx.tr("只看已超期", "Overdue only")}</label>
            </div>
            <p class="muted" data-testid="problem-count">{move || problems.get().map(|p| format!("{} {}", p.len(), ctx.tr("条", "problems")))}</p>
            {move || problems.get().unwrap_or_default().into_iter().map(|p| {
                let id = p.id;
                let note = RwSignal::new(String::new());
                let st = p.status.state;
                let zh = ctx.zh();
                view! {
                    <div class="card" data-problem=id.to_string()>
                        <p><strong>{format!("{} · {}", p.household.head_name, p.household.address)}</strong>
                            <small class="muted">{format!(" {} · {}", p.household.grid_name, p.raised_by.name)}</small></p>
                        <p>{format!("[{}·{}] {}", if zh { p.category.label_zh() } else { p.category.label_en() }, if zh { p.urgency.label_zh() } else { p.urgency.label_en() }, p.description)}</p>
                        <p class:overdue=p.overdue data-testid="queue-state">
                            {format!("{} · {} · {} {}{}", if zh { p.status.level.label_zh() } else { p.status.level.label_en() }, if zh { st.label_zh() } else { st.label_en() },
                                ctx.tr("期限", "due"), time::format_local(p.due_at.timestamp_millis() as f64), if p.overdue { ctx.tr(" · 已超期", " · overdue") } else { "" })}
                        </p>
                        {p.status.answer.clone().map(|a| view! { <p class="ok">{ctx.tr("答复：", "Answer: ")}{a}</p> })}
                        <ol class="trail">
                            {p.trail.iter().map(|t| view! {
                                <li class:flagged=t.flagged>{format!("{} {} {}{}", time::format_local(t.event.at.timestamp_millis() as f64), t.actor_name, change_label(&t.event.change, zh),
                                    if t.flagged { ctx.tr("（不合当时状态，已记下）", " (did not fit; kept)") } else { "" })}</li>
                            }).collect_view()}
                        </ol>
                        <label for=format!("note-{id}")>{ctx.tr("答复或说明", "Answer or note")}</label>
                        <textarea id=format!("note-{id}") rows="2" prop:value=note on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                        <div class="actions">
                            {st.is_open().then(|| view! {
                                <select aria-label=ctx.tr("派给", "Assign to") on:change=move |ev| {
                                    if let Ok(to) = Uuid::parse_str(&event_target_value(&ev)) { send(id, EventKind::Assign { to }) }
                                }>
                                    <option value="">{ctx.tr("派单给…", "Assign to…")}</option>
                                    {ctx.session.get_untracked().map(|s| view! { <option value=s.member.id.to_string()>{ctx.tr("我自己", "Myself")}</option> })}
                                    {accounts.get_untracked().unwrap_or_default().into_iter().filter(|a| !a.disabled && a.role.records_visits()).map(|a| view! {
                                        <option value=a.id.to_string()>{a.name}</option>
                                    }).collect_view()}
                                </select>
                                <button on:click=move |_| send(id, EventKind::Start)>{ctx.tr("开始办理", "Start")}</button>
                                <button class="primary" data-testid="answer" on:click=move |_| {
                                    let text = note.get_untracked();
                                    if !text.trim().is_empty() { send(id, EventKind::Answer { text }) }
                                }>{ctx.tr("答复办结", "Answer")}</button>
                                <button data-testid="escalate" on:click=move |_| {
                                    let note = note.get_untracked();
                                    if !note.trim().is_empty() { send(id, EventKind::Escalate { note }) }
                                }>{ctx.tr("上报上一级", "Escalate")}</button>
                            })}
                            {(st == ProblemState::Resolved).then(|| view! {
                                <button on:click=move |_| {
                                    let note = note.get_untracked();
                                    if !note.trim().is_empty() { send(id, EventKind::Reopen { note }) }
                                }>{ctx.tr("重新办理", "Reopen")}</button>
                            })}
                        </div>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}
