//! A problem on the member's phone: where it stands, the answer, the trail,
//! and the member's own actions (tell the family; answer a problem given to them).
//! Actions are stored on the phone first and uploaded like visits.

use daohu_domain::{EventKind, ProblemState, ProblemView, Satisfaction};
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
        (EventKind::Feedback { level, words }, true) if words.is_empty() => format!("回访：{}", level.label(true)),
        (EventKind::Feedback { level, words }, true) => format!("回访：{}（{words}）", level.label(true)),
        (EventKind::Feedback { level, words }, false) if words.is_empty() => format!("Follow-up: {}", level.label(false)),
        (EventKind::Feedback { level, words }, false) => format!("Follow-up: {} ({words})", level.label(false)),
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
    // The 回访 given here, not yet on the server.
    let verdict_here = Memo::new(move |_| {
        ctx.events.with(|all| {
            all.iter().rev().find(|e| e.event.problem_id == id).and_then(|e| match &e.event.change {
                EventKind::Feedback { level, .. } => Some(*level),
                _ => None,
            })
        })
    });
    let unhappy = RwSignal::new(false);
    let words = RwSignal::new(String::new());
    let resolved = p.status.state == ProblemState::Resolved;
    let ask = p.raised_by.id == me.unwrap_or_default() && p.awaits_feedback();
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
            {ask.then(|| view! {
                <Show when=move || verdict_here.get().is_none() fallback=move || view! {
                    <p class="ok" data-testid="feedback-recorded">{move || format!("{}{}", if zh { "已记下回访：" } else { "Follow-up recorded: " }, verdict_here.get().map(|v| v.label(zh)).unwrap_or_default())}</p>
                }>
                    <fieldset data-testid="feedback">
                        <legend>{if zh { "回访：群众对办理结果满意吗？" } else { "Follow-up: is the family satisfied with the outcome?" }}</legend>
                        <div class="states">
                            <button class="state" data-level="satisfied" on:click=move |_| act(EventKind::Feedback { level: Satisfaction::Satisfied, words: String::new() })>{Satisfaction::Satisfied.label(zh)}</button>
                            <button class="state" data-level="basically_satisfied" on:click=move |_| act(EventKind::Feedback { level: Satisfaction::Basically, words: String::new() })>{Satisfaction::Basically.label(zh)}</button>
                            <button class="state" class:chosen=unhappy data-level="dissatisfied" aria-expanded=move || unhappy.get().to_string() on:click=move |_| unhappy.set(true)>{Satisfaction::Dissatisfied.label(zh)}</button>
                        </div>
                        <Show when=move || unhappy.get()>
                            <label for=format!("words-{id}")>{if zh { "群众的意见（问题会重新办理）" } else { "What the family says (the problem is opened again)" }}</label>
                            <textarea id=format!("words-{id}") rows="2" prop:value=words on:input=move |ev| words.set(event_target_value(&ev))></textarea>
                            <button class="primary" data-testid="feedback-dissatisfied" on:click=move |_| {
                                let w = words.get_untracked();
                                if w.trim().is_empty() {
                                    error.set(Some((if zh { "请写上群众的意见" } else { "Write what the family says" }).into()));
                                    return;
                                }
                                error.set(None);
                                act(EventKind::Feedback { level: Satisfaction::Dissatisfied, words: w.trim().to_string() })
                            }>{if zh { "记下不满意，重新办理" } else { "Record and open it again" }}</button>
                        </Show>
                    </fieldset>
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
            {crate::components::message_line(error, "error", "alert")}
        </div>
    }
}
