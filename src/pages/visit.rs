//! The visit: five section steps, the problems, a summary and save.
//!
//! Every change to a draft is written to storage at once, so a reload, a closed
//! browser or a killed tab finds it again at the same step. "Saved" is shown
//! only after the saved record is in storage.

use daohu_domain::kinds::MAX_SERVICE_NOTE_CHARS;
use daohu_domain::ledger::{choose, phone_values, value_choices, MAX_PEOPLE_AT_HOME};
use daohu_domain::profile::{Disabilities, Incomes};
use daohu_domain::{
    LedgerField, LedgerValue, LocalVisit, Need, Picks, Policy, PolicyState, PolicyStatus, ProblemCategory, ProblemEntry,
    ProblemOutcome, ProblemView, SectionKind, SectionState, SyncState, Urgency, VisitLedgerChange,
};
use leptos::prelude::*;
use crate::components::facts::{DisabilityCounts, IncomeChoice, PickChoice};
use crate::components::link::Link;
use uuid::Uuid;

use super::require_session;
use crate::components::sync_label;
use crate::ctx::{use_ctx, AppCtx};
use crate::routes::AppRoute;
use crate::{storage, sync, time};

/// Steps: the five sections, the problems, the summary.
const STEPS: u8 = 7;
const PROBLEMS_STEP: u8 = 5;
const SUMMARY_STEP: u8 = 6;

/// The record being edited, and where a failed autosave or save is reported.
#[derive(Clone, Copy)]
struct Editor {
    ctx: AppCtx,
    record: RwSignal<Option<LocalVisit>>,
    warn: RwSignal<Option<String>>,
    /// What keeps the visit from being saved (sections without a state, …).
    errors: RwSignal<Vec<String>>,
    /// Why the last save did not reach storage (a full phone, …).
    save_error: RwSignal<Option<String>>,
}

impl Editor {
    /// Changes the draft and writes it to storage straight away.
    fn edit(self, f: impl FnOnce(&mut LocalVisit)) {
        let mut changed = None;
        self.record.update(|r| {
            if let Some(r) = r.as_mut().filter(|r| r.sync == SyncState::Draft) {
                f(r);
                changed = Some(r.clone());
            }
        });
        if let Some(rec) = changed {
            match self.ctx.put_visit(rec) {
                Ok(()) => self.warn.set(None),
                Err(e) => self.warn.set(Some(e.message(self.ctx.zh()))),
            }
        }
    }

    fn read<T>(self, f: impl FnOnce(&LocalVisit) -> T) -> Option<T> {
        self.record.with(|r| r.as_ref().map(f))
    }

    /// Saves the visit for upload: storage first, and the screen changes only
    /// once the browser has the record. False when it is incomplete or the
    /// write failed (the reasons are in `errors` / `save_error`).
    fn save(self) -> bool {
        let ctx = self.ctx;
        let Some(mut rec) = self.record.get_untracked() else { return false };
        let zh = ctx.zh();
        if let Err(errs) = rec.visit.validate() {
            self.errors.set(errs.iter().map(|e| if zh { e.message_zh() } else { e.message_en() }).collect());
            return false;
        }
        self.errors.set(Vec::new());
        rec.visit.recorded_at = time::now_utc();
        rec.sync = SyncState::Pending;
        match ctx.put_visit(rec.clone()) {
            Ok(()) => {
                self.save_error.set(None);
                if !crate::vault::is_open() {
                    self.record.set(Some(rec));
                    sync::request_upload(ctx);
                    return true;
                }
                // Locked with a PIN: "saved" shows once the sealed record is stored.
                let editor = self;
                leptos::task::spawn_local(async move {
                    match storage::flushed().await {
                        Ok(()) => {
                            editor.record.set(Some(rec));
                            sync::request_upload(ctx);
                        }
                        Err(e) => {
                            editor.save_error.set(Some(e.message(zh)));
                            ctx.reload_visits();
                        }
                    }
                });
                true
            }
            Err(e) => {
                self.save_error.set(Some(e.message(zh)));
                false
            }
        }
    }
}

#[component]
pub fn VisitPage(id: Uuid) -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let record = RwSignal::new(None::<LocalVisit>);
    let loaded = RwSignal::new(false);
    let editor = Editor { ctx, record, warn: RwSignal::new(None), errors: RwSignal::new(Vec::new()), save_error: RwSignal::new(None) };

    let found = ctx
        .visits
        .with_untracked(|all| all.iter().find(|v| v.visit.id == id).cloned())
        .or_else(|| storage::load_visit(id).ok().flatten());
    record.set(found);
    loaded.set(true);
    // Another tab edited or saved this record: show its version rather than
    // overwrite it on the next keystroke (each edit is stored at once, so the
    // stored copy holds every edit made so far, whichever tab made it). The
    // outbox uploading it only moves its sync state: shown, but no warning.
    let other_tab = RwSignal::new(false);
    Effect::new(move |_| {
        let latest = ctx.visits.with(|all| all.iter().find(|v| v.visit.id == id).cloned());
        if let Some(latest) = latest {
            let edited = record.with_untracked(|r| r.as_ref().map(|r| (*r != latest, r.edited_apart_from(&latest))));
            if let Some((changed, edited)) = edited {
                if changed {
                    record.set(Some(latest));
                }
                if edited {
                    other_tab.set(true);
                }
            }
        }
    });

    let step = Memo::new(move |_| editor.read(|r| r.step.min(STEPS - 1)));
    let is_draft = Memo::new(move |_| editor.read(|r| r.sync == SyncState::Draft).unwrap_or(false));
    let household = Memo::new(move |_| {
        let hid = editor.read(|r| r.visit.household_id)?;
        ctx.roster.with(|r| {
            r.as_ref()?.households.iter().find(|h| h.household.id == hid).map(|h| h.household.clone())
        })
    });
    let go = move |s: u8| editor.edit(|r| r.step = s.min(STEPS - 1));

    view! {
        <section class="page visit">
            {move || household.get().map(|h| view! {
                <Link to=AppRoute::Household(h.id) class="back">{format!("‹ {}", h.head_name)}</Link>
                <p class="card-sub">{h.address}</p>
            })}
            <Show when=move || other_tab.get()>
                <p class="banner info" role="status" data-testid="other-tab">{ctx.tr("这条记录在另一个窗口里改过，现在显示的是最新内容。", "This record was changed in another window; the latest version is shown.")}</p>
            </Show>
            {crate::components::message_line(editor.warn, "error", "alert")}
            {move || match (loaded.get(), step.get(), is_draft.get()) {
                (false, _, _) => ().into_any(),
                (true, None, _) => view! { <p class="empty">{ctx.tr("找不到这次走访。", "Visit not found.")}</p> }.into_any(),
                (true, Some(_), false) => view! { <SavedVisit editor=editor/> }.into_any(),
                (true, Some(s), true) => view! {
                    <StepNav step=s go=go/>
                    {if s < PROBLEMS_STEP {
                        view! { <SectionStep editor=editor kind=SectionKind::ALL[s as usize]/> }.into_any()
                    } else if s == PROBLEMS_STEP {
                        view! { <ProblemsStep editor=editor/> }.into_any()
                    } else {
                        view! { <SummaryStep editor=editor/> }.into_any()
                    }}
                    // Back and the step's main action stay at the bottom of the screen
                    // (style: .action-bar), so no step needs scrolling to go on.
                    <div class="step-buttons action-bar">
                        <button disabled=s == 0 on:click=move |_| go(s.saturating_sub(1))>{ctx.tr("上一步", "Back")}</button>
                        <StepAction editor=editor step=s go=go/>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// The main action of a step. A section without a state: "done, next" marks it
/// done and moves on in one tap, so a routine visit is a tap a section; with a
/// state chosen, "next". The problems step with none listed saves the visit
/// (anything missing shows on the summary step); the summary step saves.
#[component]
fn StepAction(editor: Editor, step: u8, go: impl Fn(u8) + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = editor.ctx;
    if step < PROBLEMS_STEP {
        let kind = SectionKind::ALL[step as usize];
        let chosen = move || editor.read(|r| r.visit.section(kind).and_then(|s| s.state).is_some()).unwrap_or(false);
        let next = move |_| {
            editor.edit(|r| {
                if let Some(sec) = r.visit.section_mut(kind).filter(|sec| sec.state.is_none()) {
                    sec.state = Some(SectionState::Done);
                }
                r.step = step + 1;
            })
        };
        view! {
            <button class="primary" on:click=next data-testid="step-next">
                {move || if chosen() { ctx.tr("下一步", "Next") } else { ctx.tr("已完成，下一项", "Done, next") }}
            </button>
        }
        .into_any()
    } else if step == PROBLEMS_STEP {
        let none = move || editor.read(|r| r.visit.problems.is_empty()).unwrap_or(true);
        let next = move |_| {
            if !none() || !editor.save() {
                go(SUMMARY_STEP);
            }
        };
        view! {
            <button class="primary" on:click=next data-testid="step-next">
                {move || if none() { ctx.tr("没有问题，保存走访", "No problems: save") } else { ctx.tr("下一步", "Next") }}
            </button>
        }
        .into_any()
    } else {
        view! {
            <button class="primary" on:click=move |_| { editor.save(); } data-testid="save-visit">
                {ctx.tr("保存走访", "Save the visit")}
            </button>
        }
        .into_any()
    }
}

fn step_title(s: u8, zh: bool) -> &'static str {
    match s {
        0..=4 => {
            let k = SectionKind::ALL[s as usize];
            if zh { k.title_zh() } else { k.title_en() }
        }
        PROBLEMS_STEP => if zh { "群众反映的问题" } else { "Problems raised" },
        _ => if zh { "小结并保存" } else { "Summary and save" },
    }
}

/// Where the member is among the seven steps; each dot jumps to its step.
#[component]
fn StepNav(step: u8, go: impl Fn(u8) + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <nav class="steps" aria-label=ctx.tr("走访步骤", "Visit steps")>
            {(0..STEPS).map(|s| view! {
                <button class="dot" class:current=s == step
                    aria-current=if s == step { Some("step") } else { None }
                    aria-label=move || format!("{} {}", s + 1, step_title(s, ctx.zh()))
                    on:click=move |_| go(s)>{s + 1}</button>
            }).collect_view()}
        </nav>
        <h1 data-testid="step-title">
            <small>{move || format!("{} {} / {} · ", ctx.tr("第", "Step"), step + 1, STEPS)}</small>
            {move || step_title(step, ctx.zh())}
        </h1>
    }
}

#[component]
fn SectionStep(editor: Editor, kind: SectionKind) -> impl IntoView {
    let ctx = editor.ctx;
    let idx = kind.index();
    let state = move || editor.read(|r| r.visit.sections.get(idx).and_then(|s| s.state)).flatten();
    // What to tick: the section's checklist in the catalogue (at 精准服务 the
    // service kinds, each with a short note once given; a routine visit taps none).
    let service = kind == SectionKind::PreciseService;
    let catalogue = ctx.roster.with_untracked(|r| r.as_ref().and_then(|r| r.catalogue.clone())).unwrap_or_default();
    let ticked = move |k: &str| editor.read(|r| if service { r.visit.service_on(k) } else { r.visit.sections[idx].is_checked(k) }).unwrap_or(false);
    let items: Vec<(String, String)> =
        catalogue.checklist(kind.list(), ticked).into_iter().map(|k| (k.key.clone(), k.name(ctx.zh()).into())).collect();
    // What the household's last visit left for next time here, and its note.
    let last = editor.read(|r| r.visit.household_id).and_then(|hid| {
        ctx.roster.with_untracked(|r| r.as_ref()?.households.iter().find(|h| h.household.id == hid)?.last_time(kind))
    });
    view! {
        {last.map(|l| view! {
            <p class="last-time" data-testid="last-time">
                {match (ctx.zh(), l.state) {
                    (true, st) => format!("上次 {}：{}", l.visited_on, st.map(|st| st.label_zh()).unwrap_or("—")),
                    (false, st) => format!("Last time ({}): {}", l.visited_on, st.map(|st| st.label_en()).unwrap_or("—")),
                }}
                {(!l.note.is_empty()).then(|| format!("{}{}", ctx.tr("。备注：", ". Note: "), l.note))}
            </p>
        })}
        <fieldset class="checklist">
            <legend>{if service {
                ctx.tr("今天提供的服务（点选，可写一句说明）", "Services given today (tap; a short note if you like)")
            } else {
                ctx.tr("逐项核对", "Checklist")
            }}</legend>
            {items.into_iter().map(|(key, name)| {
                let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
                let on = move || ticked(&k1);
                let note_label = format!("{name}{}", ctx.tr("：说明", ": note"));
                view! {
                    <label class="check">
                        <input type="checkbox" name=key.clone() prop:checked=on.clone()
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                editor.edit(|r| if service { r.visit.set_service(&k2, on) } else if let Some(s) = r.visit.section_mut(kind) { s.set_checked(&k2, on) });
                            }/>
                        <span>{name}</span>
                    </label>
                    // A service's note (hidden until it is given; never shown at the other steps).
                    <input type="text" maxlength=MAX_SERVICE_NOTE_CHARS.to_string() hidden=move || !(service && on())
                        aria-label=note_label placeholder=ctx.tr("说明（可不填）", "Note (optional)")
                        prop:value=move || editor.read(|r| r.visit.service_note(&key)).unwrap_or_default()
                        on:change=move |ev| {
                            let text = event_target_value(&ev);
                            editor.edit(|r| r.visit.set_service_note(&k3, text));
                        }/>
                }
            }).collect_view()}
        </fieldset>
        <fieldset class="states" role="radiogroup">
            <legend>{ctx.tr("这一项办得怎样", "How did this section go")}</legend>
            {SectionState::ALL.into_iter().map(|st| view! {
                <button class="state" role="radio"
                    aria-checked=move || (state() == Some(st)).to_string()
                    class:chosen=move || state() == Some(st)
                    on:click=move |_| editor.edit(|r| if let Some(s) = r.visit.section_mut(kind) { s.state = Some(st) })>
                    {if ctx.zh() { st.label_zh() } else { st.label_en() }}
                </button>
            }).collect_view()}
        </fieldset>
        {matches!(kind, SectionKind::PolicyDelivered | SectionKind::SentimentVisit | SectionKind::IndustryMatchup)
            .then(|| view! { <LedgerFields editor=editor kind=kind/> })}
        <label for="notes">{ctx.tr("备注", "Notes")}</label>
        <textarea id="notes" rows="4"
            prop:value=move || editor.read(|r| r.visit.sections[idx].notes.clone()).unwrap_or_default()
            on:input=move |ev| {
                let text = event_target_value(&ev);
                editor.edit(|r| if let Some(s) = r.visit.section_mut(kind) { s.notes = text });
            }></textarea>
    }
}

/// The household's ledger at its step: its policies at the policy step (those
/// of its special groups first, the rest behind "more"), housing, water and
/// the people usually at home at the sentiment step. Each shows what the household has now (the roster's,
/// with this phone's visits not yet uploaded on top); only a change is kept in
/// the visit, so a routine visit taps nothing here.
#[component]
fn LedgerFields(editor: Editor, kind: SectionKind) -> impl IntoView {
    let ctx = editor.ctx;
    let Some((hid, vid, on)) = editor.read(|r| (r.visit.household_id, r.visit.id, r.visit.visited_on)) else {
        return ().into_any();
    };
    let (catalogue, home) = ctx.roster.with_untracked(|r| {
        let r = r.as_ref();
        (
            r.and_then(|r| r.catalogue.clone()),
            r.and_then(|r| r.households.iter().find(|h| h.household.id == hid).cloned()),
        )
    });
    let Some(home) = home else { return ().into_any() };
    let waiting: Vec<VisitLedgerChange> = ctx.visits.with_untracked(|all| {
        let mut mine: Vec<&LocalVisit> =
            all.iter().filter(|v| v.visit.household_id == hid && v.visit.id != vid && v.sync.in_outbox()).collect();
        daohu_domain::order::sort_by(&mut mine, |a, b| a.visit.recorded_at < b.visit.recorded_at);
        mine.iter().flat_map(|v| v.visit.ledger.clone()).collect()
    });
    let before = StoredValue::new(phone_values(home.ledger.iter().chain(&home.facts).chain(&home.later), waiting.iter()));
    let was = move |field: &LedgerField| before.with_value(|b| b.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone()));
    let value_of = move |field: &LedgerField| {
        editor
            .read(|r| r.visit.ledger.iter().find(|c| &c.field == field).map(|c| c.value.clone()))
            .flatten()
            .or_else(|| was(field))
    };
    let set = move |field: LedgerField, value: LedgerValue| {
        let prior = was(&field);
        editor.edit(|r| choose(&mut r.visit.ledger, prior.as_ref(), field, value, time::new_id));
    };
    let unset = move || ctx.tr("未记录", "Not recorded");
    let policy_row = move |p: &Policy| {
        let field = LedgerField::Policy(p.key.clone());
        let shown = StoredValue::new(field.clone());
        let status = move || match value_of(&shown.get_value()) {
            Some(LedgerValue::Policy(s)) => Some(s),
            _ => None,
        };
        let id = format!("policy-{}", p.key);
        let name = if ctx.zh() { p.name_zh.clone() } else { p.name_en.clone() };
        view! {
            <label for=id.clone()>{name}</label>
            <select id=id data-policy=p.key.clone() on:change=move |ev| {
                let Some(state) = PolicyState::parse(&event_target_value(&ev)) else { return };
                // An application already running keeps the day it started.
                let prior = match was(&field) { Some(LedgerValue::Policy(s)) => Some(s), _ => None };
                set(field.clone(), LedgerValue::Policy(PolicyStatus::mark(prior.as_ref(), state, on)));
            }>
                <option value="" disabled selected=move || status().is_none()>{unset()}</option>
                {PolicyState::ALL.into_iter().map(|st| view! {
                    <option value=st.as_str() selected=move || status().map(|s| s.state) == Some(st)>
                        {if ctx.zh() { st.label_zh() } else { st.label_en() }}
                    </option>
                }).collect_view()}
            </select>
            {move || status().and_then(|s| s.applying_since).map(|d| view! {
                <p class="hint">{format!("{} {d}", ctx.tr("开始办理：", "Applying since"))}</p>
            })}
        }
    };
    if kind == SectionKind::PolicyDelivered {
        let Some(catalogue) = catalogue else { return ().into_any() };
        let (first, rest) = catalogue.for_household(&home.household.special_groups);
        let rest_count = rest.len();
        view! {
            <fieldset class="ledger" data-testid="policies">
                <legend>{ctx.tr("这户的政策享受情况", "This household's policies")}</legend>
                {first.into_iter().map(policy_row).collect_view()}
                {(rest_count > 0).then(|| view! {
                    <details>
                        <summary>{format!("{}{rest_count}{}", ctx.tr("更多政策（", "More policies ("), ctx.tr("项）", ")"))}</summary>
                        {rest.into_iter().map(policy_row).collect_view()}
                    </details>
                })}
            </fieldset>
        }
        .into_any()
    } else if kind == SectionKind::IndustryMatchup {
        // What the family lives from and needs (pre-filled: no change is no tap),
        // and how the coordinators' matchups of its needs stand.
        let picks = move |livelihood: bool| move || {
            match value_of(if livelihood { &LedgerField::Livelihood } else { &LedgerField::Needs }) {
                Some(LedgerValue::Picks(p)) => p,
                _ => Picks::default(),
            }
        };
        let kinds = catalogue.unwrap_or_default().livelihood_choices(&picks(true)(), ctx.zh());
        view! {
            <fieldset class="ledger" data-testid="industry">
                <legend>{ctx.tr("产业和需求", "Livelihood and needs")}</legend>
                <PickChoice field=LedgerField::Livelihood options=kinds value=picks(true)
                    set=move |p| set(LedgerField::Livelihood, LedgerValue::Picks(p))/>
                <PickChoice field=LedgerField::Needs options=Need::choices(ctx.zh()) value=picks(false)
                    set=move |p| set(LedgerField::Needs, LedgerValue::Picks(p))/>
                {(!home.matchups.is_empty()).then(|| view! {
                    <p class="hint">{ctx.tr("对接情况：", "Matchups:")}</p>
                    <ul data-testid="matchups">
                        {home.matchups.iter().map(|m| view! { <li>{m.line(ctx.zh())}</li> }).collect_view()}
                    </ul>
                })}
            </fieldset>
        }
        .into_any()
    } else {
        // One fact: a condition chosen from its list (housing, water, road,
        // heating, contact) or a number of people. A number out of range is no
        // value: the field keeps what it had. One code path for every such fact
        // (rendered from a list, not one view each: that cost the phone 2 KB).
        let fact = move |field: LedgerField| {
            let id = field.word();
            let name = field.plain_name(ctx.zh());
            let choices = value_choices(&field, ctx.zh());
            let shown = StoredValue::new(field);
            let word = move || value_of(&shown.get_value()).map(|v| v.word());
            let enter = move |ev: leptos::ev::Event| {
                let f = shown.get_value();
                if let Some(v) = LedgerValue::entered(&f, event_target_value(&ev).trim()) { set(f, v) }
            };
            let control = if choices.is_empty() {
                view! {
                    <input id=id.clone() type="number" inputmode="numeric" min="0" max=MAX_PEOPLE_AT_HOME.to_string()
                        prop:value=move || word().unwrap_or_default() on:change=enter/>
                }
                .into_any()
            } else {
                view! {
                    <select id=id.clone() on:change=enter>
                        <option value="" disabled selected=move || word().is_none()>{unset()}</option>
                        {choices.into_iter().map(|(w, label)| view! {
                            <option value=w selected=move || word().as_deref() == Some(w)>{label}</option>
                        }).collect_view()}
                    </select>
                }
                .into_any()
            };
            view! { <label for=id>{name}</label>{control} }
        };
        let facts = move |fields: &[LedgerField]| fields.iter().cloned().map(fact).collect_view();
        let incomes = move || match value_of(&LedgerField::Income) {
            Some(LedgerValue::Incomes(i)) => i,
            _ => Incomes::default(),
        };
        let disabled = move || match value_of(&LedgerField::Disability) {
            Some(LedgerValue::Disabilities(d)) => d,
            _ => Disabilities::default(),
        };
        view! {
            <fieldset class="ledger" data-testid="living">
                <legend>{ctx.tr("住房、饮水和在家的人", "Housing, water and who is at home")}</legend>
                {facts(&[LedgerField::Housing, LedgerField::Water, LedgerField::PeopleAtHome])}
                <details data-testid="more-facts">
                    <summary>{ctx.tr("更多家庭情况（疾病、残疾、收入、道路、取暖、联系方式）", "More about the family (illness, disability, income, road, heating, contact)")}</summary>
                    {facts(&[LedgerField::ChronicIll, LedgerField::SeriousIll])}
                    <DisabilityCounts value=disabled set=move |d| set(LedgerField::Disability, LedgerValue::Disabilities(d))/>
                    <IncomeChoice value=incomes set=move |i| set(LedgerField::Income, LedgerValue::Incomes(i))/>
                    {facts(&[LedgerField::Road, LedgerField::Heating, LedgerField::Contact])}
                </details>
            </fieldset>
        }
        .into_any()
    }
}

#[component]
fn ProblemsStep(editor: Editor) -> impl IntoView {
    let ctx = editor.ctx;
    let ids = Memo::new(move |_| {
        editor.read(|r| r.visit.problems.iter().map(|p| p.id).collect::<Vec<_>>()).unwrap_or_default()
    });
    let add = move |_| {
        editor.edit(|r| {
            r.visit.problems.push(ProblemEntry {
                id: time::new_id(),
                category: ProblemCategory::Other,
                urgency: Urgency::Normal,
                description: String::new(),
                outcome: ProblemOutcome::Escalate,
                action: String::new(),
            })
        })
    };
    // The 回访: this household's problems resolved since the member raised them,
    // the family not yet asked about the outcome.
    let me = ctx.session.get_untracked().map(|s| s.member.id);
    let hid = editor.read(|r| r.visit.household_id);
    let follow_up: Vec<ProblemView> = ctx.roster.with_untracked(|r| {
        r.as_ref()
            .and_then(|r| r.households.iter().find(|h| Some(h.household.id) == hid))
            .map(|h| h.problems.iter().filter(|p| Some(p.raised_by.id) == me && p.awaits_feedback()).cloned().collect())
            .unwrap_or_default()
    });
    view! {
        {(!follow_up.is_empty()).then(|| view! {
            <h3>{ctx.tr("回访上次反映的问题", "Follow up the problems raised before")}</h3>
            {follow_up.into_iter().map(|p| view! { <crate::components::problem::ProblemCard p=p/> }).collect_view()}
        })}
        <p class="hint">{ctx.tr("记下这家反映的困难和诉求：能当场解决的写明怎么解决的，解决不了的上报村里。", "Note each problem the family raised: say what was done if resolved on the spot, otherwise escalate it to the village.")}</p>
        <Show when=move || ids.with(|i| i.is_empty())>
            <p class="empty">{ctx.tr("没有问题就直接下一步。", "No problems? Go to the next step.")}</p>
        </Show>
        <For each=move || ids.get().into_iter().enumerate() key=|(_, id)| *id let:item>
            <ProblemCard editor=editor index=item.0 id=item.1/>
        </For>
        <button class="big" on:click=add data-testid="add-problem">{ctx.tr("＋ 添加一个问题", "+ Add a problem")}</button>
    }
}

#[component]
fn ProblemCard(editor: Editor, index: usize, id: Uuid) -> impl IntoView {
    let ctx = editor.ctx;
    let get = move || editor.read(|r| r.visit.problems.iter().find(|p| p.id == id).cloned()).flatten();
    let set = move |f: Box<dyn FnOnce(&mut ProblemEntry)>| {
        editor.edit(|r| {
            if let Some(p) = r.visit.problems.iter_mut().find(|p| p.id == id) {
                f(p)
            }
        })
    };
    let outcome = move || get().map(|p| p.outcome);
    let field = move |name: &str| format!("problem-{index}-{name}");
    view! {
        <div class="problem card">
            <h3>{move || format!("{} {}", ctx.tr("问题", "Problem"), index + 1)}</h3>
            <label for=field("category")>{ctx.tr("类别", "Category")}</label>
            <select id=field("category") on:change=move |ev| {
                if let Some(c) = ProblemCategory::parse(&event_target_value(&ev)) { set(Box::new(move |p| p.category = c)) }
            }>
                {ProblemCategory::ALL.into_iter().map(|c| view! {
                    <option value=c.as_str() selected=move || get().map(|p| p.category) == Some(c)>
                        {if ctx.zh() { c.label_zh() } else { c.label_en() }}
                    </option>
                }).collect_view()}
            </select>
            <label for=field("urgency")>{ctx.tr("紧急程度", "Urgency")}</label>
            <select id=field("urgency") on:change=move |ev| {
                if let Some(u) = Urgency::parse(&event_target_value(&ev)) { set(Box::new(move |p| p.urgency = u)) }
            }>
                {Urgency::ALL.into_iter().map(|u| view! {
                    <option value=u.as_str() selected=move || get().map(|p| p.urgency) == Some(u)>
                        {if ctx.zh() { u.label_zh() } else { u.label_en() }}
                    </option>
                }).collect_view()}
            </select>
            <label for=field("text")>{ctx.tr("具体情况", "What the problem is")}</label>
            <textarea id=field("text") rows="3"
                prop:value=move || get().map(|p| p.description).unwrap_or_default()
                on:input=move |ev| { let t = event_target_value(&ev); set(Box::new(move |p| p.description = t)) }></textarea>
            <div class="states" role="radiogroup" aria-label=ctx.tr("怎么处理", "Outcome")>
                {[ProblemOutcome::ResolvedOnSpot, ProblemOutcome::Escalate].into_iter().map(|o| view! {
                    <button class="state" role="radio"
                        aria-checked=move || (outcome() == Some(o)).to_string()
                        class:chosen=move || outcome() == Some(o)
                        on:click=move |_| set(Box::new(move |p| p.outcome = o))>
                        {if ctx.zh() { o.label_zh() } else { o.label_en() }}
                    </button>
                }).collect_view()}
            </div>
            <Show when=move || outcome() == Some(ProblemOutcome::ResolvedOnSpot)>
                <label for=field("action")>{ctx.tr("怎么解决的", "What was done")}</label>
                <textarea id=field("action") rows="2"
                    prop:value=move || get().map(|p| p.action).unwrap_or_default()
                    on:input=move |ev| { let t = event_target_value(&ev); set(Box::new(move |p| p.action = t)) }></textarea>
            </Show>
            <button class="link danger" on:click=move |_| editor.edit(|r| r.visit.problems.retain(|p| p.id != id))>
                {ctx.tr("删除这个问题", "Remove this problem")}
            </button>
        </div>
    }
}

#[component]
fn SummaryStep(editor: Editor) -> impl IntoView {
    let ctx = editor.ctx;
    let (errors, save_error) = (editor.errors, editor.save_error);
    let discard = move |_| {
        let sure = web_sys::window()
            .and_then(|w| w.confirm_with_message(ctx.tr("确定不要这次走访了吗？", "Throw this visit away?")).ok())
            .unwrap_or(false);
        if let (true, Some(id)) = (sure, editor.read(|r| r.visit.id)) {
            if ctx.discard_draft(id).is_ok() {
                editor.record.set(None);
            }
        }
    };
    view! {
        <SectionOverview editor=editor/>
        <label for="visited-on">{ctx.tr("走访日期", "Date of the visit")}</label>
        <input id="visited-on" type="date"
            prop:value=move || editor.read(|r| r.visit.visited_on.to_string()).unwrap_or_default()
            on:change=move |ev| {
                if let Ok(d) = daohu_domain::stamp::parse_date(&event_target_value(&ev)) { editor.edit(|r| r.visit.visited_on = d) }
            }/>
        <label for="summary">{ctx.tr("走访小结", "Summary")}</label>
        <textarea id="summary" rows="4"
            prop:value=move || editor.read(|r| r.visit.summary.clone()).unwrap_or_default()
            on:input=move |ev| { let t = event_target_value(&ev); editor.edit(|r| r.visit.summary = t) }></textarea>
        <Show when=move || !errors.with(|e| e.is_empty())>
            <ul class="error" role="alert">
                {move || errors.get().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
            </ul>
        </Show>
        <Show when=move || save_error.get().is_some()>
            <p class="error" role="alert" data-testid="save-error">{move || save_error.get()}</p>
        </Show>
        <button class="link danger" on:click=discard>{ctx.tr("不要这次走访", "Throw this visit away")}</button>
    }
}

/// The five sections' states and the problems, at a glance.
#[component]
fn SectionOverview(editor: Editor) -> impl IntoView {
    let ctx = editor.ctx;
    view! {
        <ul class="overview">
            {SectionKind::ALL.into_iter().map(|k| {
                let st = move || editor.read(|r| r.visit.section(k).and_then(|s| s.state)).flatten();
                view! {
                    <li class:missing=move || st().is_none()>
                        <span>{if ctx.zh() { k.title_zh() } else { k.title_en() }}</span>
                        <strong>{move || match st() {
                            Some(s) => if ctx.zh() { s.label_zh() } else { s.label_en() },
                            None => ctx.tr("未选", "not chosen"),
                        }}</strong>
                    </li>
                }
            }).collect_view()}
            <li>
                <span>{ctx.tr("问题", "Problems")}</span>
                <strong>{move || editor.read(|r| format!("{} ({} {})", r.visit.problems.len(), r.visit.escalated_count(), ctx.tr("上报", "escalated"))).unwrap_or_default()}</strong>
            </li>
        </ul>
    }
}

/// A visit already saved: read-only, with where it stands in the upload.
#[component]
fn SavedVisit(editor: Editor) -> impl IntoView {
    let ctx = editor.ctx;
    let status = move || {
        let live = editor.read(|r| r.visit.id).and_then(|id| {
            ctx.visits.with(|all| all.iter().find(|v| v.visit.id == id).map(|v| v.sync.clone()))
        });
        live.or_else(|| editor.read(|r| r.sync.clone()))
    };
    view! {
        <h1>{ctx.tr("走访已保存", "Visit saved")}</h1>
        <p class="ok" role="status" data-testid="saved-status">
            {move || status().map(|s| sync_label(&s, ctx.zh())).unwrap_or_default()}
        </p>
        <p>{move || editor.read(|r| r.visit.visited_on.to_string()).unwrap_or_default()}</p>
        <SectionOverview editor=editor/>
        <p class="summary-text">{move || editor.read(|r| r.visit.summary.clone()).unwrap_or_default()}</p>
        {move || editor.read(|r| r.visit.household_id).map(|hid| view! {
            <Link to=AppRoute::Household(hid) class="button big">{ctx.tr("回到这一户", "Back to the household")}</Link>
        })}
    }
}
