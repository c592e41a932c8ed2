//! A problem on the member's phone: where it stands, the answer, the trail,
//! and the member's own actions (tell the family; answer a problem given to them).
//! Actions are stored on the phone first and uploaded like visits.

use daohu_domain::{EventKind, ProblemState, ProblemView};
use leptos::prelude::*;

use crate::ctx::use_ctx;

/// Plain words for one event of a trail.
pub fn change_label(c: &EventKind, zh: bool) -> String {
    match (c, zh) {
        (EventKind::Assign { .. }, true) => "派单".into(),
        (EventKind::Assign { .. }, false) => "Assigned".into(),
        (EventKind::Start, true) => "开始办理".into(),
        (EventKind::Start, false) => "Started".into(),
        (EventKind::Answer { text }, true) => format!("答复：{text}"),
        (EventKind::Answer { text }, false) => format!("Answer: {text}"),
        (EventKind::Escalate { note }, true) => format!("上报：{note}"),
        (EventKind::Escalate { note }, false) => format!("Escalated: {note}"),
        (EventKind::Reopen { note }, true) => format!("重新办理：{note}"),
        (EventKind::Reopen { note }, false) => format!("Reopened: {note}"),
        (EventKind::FamilyTold, true) => "已告知群众".into(),
        (EventKind::FamilyTold, false) => "Family told".into(),
        (EventKind::Note { text }, true) => format!("备注：{text}"),
        (EventKind::Note { text }, false) => format!("Note: {text}"),
    }
}

#[component]
pub fn ProblemCard(p: ProblemView) -> impl IntoView {
    let ctx = use_ctx();
    let zh = ctx.zh();
    let id = p.id;
    let me = ctx.session.get_untracked().map(|s| s.member.id);
    let error = RwSignal::new(None::<String>);
    let answer = RwSignal::new(String::new());
    // Changes made here and not yet on the server count already.
    let told_here = Memo::new(move |_| {
        ctx.events.with(|all| all.iter().any(|e| e.event.problem_id == id && e.event.change == EventKind::FamilyTold))
    });
    let answered_here = Memo::new(move |_| {
        ctx.events.with(|all| all.iter().any(|e| e.event.problem_id == id && matches!(e.event.change, EventKind::Answer { .. })))
    });
    let resolved = p.status.state == ProblemState::Resolved;
    let mine_to_answer = p.status.state.is_open() && p.status.assignee.is_some() && p.status.assignee == me;
    let act = move |change: EventKind| {
        if let Err(e) = crate::sync::add_event(ctx, id, change) {
            error.set(Some(e.message(zh)));
        }
    };
    let status = format!(
        "{} · {}{}",
        if zh { p.status.level.label_zh() } else { p.status.level.label_en() },
        if zh { p.status.state.label_zh() } else { p.status.state.label_en() },
        if p.overdue { if zh { " · 已超期" } else { " · overdue" } } else { "" }
    );
    view! {
        <div class="card problem-status" data-problem=id.to_string()>
            <p><strong>{if zh { p.category.label_zh() } else { p.category.label_en() }}</strong>" · "{p.description.clone()}</p>
            <p class:overdue=p.overdue data-testid="problem-state">{status}</p>
            {p.status.answer.clone().map(|a| view! { <p class="ok" data-testid="problem-answer">{if zh { "答复：" } else { "Answer: " }}{a}</p> })}
            {p.assignee_name.clone().map(|n| view! { <p class="muted">{if zh { "承办人：" } else { "Handled by: " }}{n}</p> })}
            <details>
                <summary>{if zh { "办理经过" } else { "Trail" }}</summary>
                <ol class="trail">
                    {p.trail.iter().map(|t| view! {
                        <li class:flagged=t.flagged>
                            {format!("{} {} {}", crate::time::format_local(t.event.at.timestamp_millis() as f64), t.actor_name, change_label(&t.event.change, zh))}
                            {t.flagged.then(|| if zh { "（办结后才收到，已记下）" } else { " (arrived after it was closed; kept)" })}
                        </li>
                    }).collect_view()}
                </ol>
            </details>
            {(resolved && !p.status.family_told).then(|| view! {
                <Show when=move || !told_here.get() fallback=move || view! { <p class="ok">{if zh { "已记下：已告知群众" } else { "Recorded: family told" }}</p> }>
                    <button class="primary" on:click=move |_| act(EventKind::FamilyTold) data-testid="family-told">
                        {if zh { "已把答复告诉群众" } else { "I told the family" }}
                    </button>
                </Show>
            })}
            {mine_to_answer.then(|| view! {
                <Show when=move || !answered_here.get() fallback=move || view! { <p class="ok">{if zh { "答复已记下，等待上传" } else { "Answer recorded, waiting to upload" }}</p> }>
                    <label for=format!("answer-{id}")>{if zh { "办理结果" } else { "Outcome" }}</label>
                    <textarea id=format!("answer-{id}") rows="2" prop:value=answer on:input=move |ev| answer.set(event_target_value(&ev))></textarea>
                    <button class="primary" on:click=move |_| {
                        let t = answer.get_untracked();
                        if t.trim().is_empty() { return; }
                        act(EventKind::Answer { text: t })
                    }>{if zh { "答复" } else { "Answer" }}</button>
                </Show>
            })}
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </div>
    }
}
