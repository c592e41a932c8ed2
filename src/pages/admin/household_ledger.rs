//! One household's ledger in the console (issue 17): each field's current
//! value and every change (who, when, at a visit or as a correction), and a
//! coordinator's correction, sent like a phone's change (the server audits it).

use daohu_domain::ledger::{describe, value_choices, PROFILE_FIELDS};
use daohu_domain::profile::{Disabilities, Incomes};
use daohu_domain::{Catalogue, HouseholdLedger, LedgerBatch, LedgerEntry, LedgerField, LedgerValue, Need, NewLedgerChange, Picks, ReceiptStatus, SyncResponse};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::{load, report, ErrorLine};
use crate::components::facts::{DisabilityCounts, IncomeChoice, PickChoice};
use crate::ctx::use_ctx;
use crate::time;

#[component]
pub fn HouseholdLedgerPanel(household: Uuid, head: String) -> impl IntoView {
    let ctx = use_ctx();
    let ledger = RwSignal::new(None::<HouseholdLedger>);
    let catalogue = RwSignal::new(None::<Catalogue>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let reload = move || load(ctx, format!("/api/households/{household}/ledger"), ledger, error);
    load(ctx, "/api/catalogue".into(), catalogue, error);
    reload();

    // The correction: a field's word, the new value's word, an application's first day.
    let field = RwSignal::new(String::from("housing"));
    let value = RwSignal::new(String::new());
    let since = RwSignal::new(time::today().to_string());
    let correct = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let Some(client) = ctx.api() else { return };
        let Some(f) = LedgerField::parse(&field.get_untracked()) else { return };
        let day = chrono::NaiveDate::parse_from_str(&since.get_untracked(), "%Y-%m-%d").ok();
        let day = day.filter(|_| value.with_untracked(|v| v == "applying"));
        let Some(v) = LedgerValue::parse(&f, value.get_untracked().trim(), day) else {
            error.set(Some(ctx.tr("请选择或填写新的值", "Choose or type the new value").into()));
            return;
        };
        let change = NewLedgerChange { id: time::new_id(), household_id: household, field: f, value: v, at: time::now_utc(), visit_id: None };
        let batch = LedgerBatch { device_id: ctx.device_id, changes: vec![change] };
        spawn_local(async move {
            match client.send::<_, SyncResponse>("POST", "/api/sync/ledger", Some(&batch)).await {
                Ok(r) => match r.receipts.into_iter().next() {
                    Some(rc) if matches!(rc.status, ReceiptStatus::Stored | ReceiptStatus::Duplicate) => {
                        error.set(None);
                        notice.set(Some(ctx.tr("已更正。", "Corrected.").into()));
                        reload();
                    }
                    Some(rc) => error.set(rc.reason.or(Some(ctx.tr("没有保存。", "Not saved.").into()))),
                    None => error.set(Some(ctx.tr("没有保存。", "Not saved.").into())),
                },
                Err(e) => report(ctx, e, error),
            }
        });
    };

    // One change as a row: what, the value, who, when, at a visit or as a correction.
    let row = move |e: &LedgerEntry, c: &Catalogue| {
        let (item, shown) = describe(&e.change.field, &e.change.value, c, ctx.zh());
        let how = if e.change.visit_id.is_some() { ctx.tr("走访时", "at a visit") } else { ctx.tr("更正", "correction") };
        view! {
            <tr>
                <td>{item}</td><td>{shown}</td><td>{e.by_name.clone()}</td>
                <td>{time::format_local(e.change.at.timestamp_millis() as f64)}</td><td>{how}</td>
            </tr>
        }
    };
    let table = move |pick: fn(&HouseholdLedger) -> &Vec<LedgerEntry>, testid: &'static str| {
        view! {
            <table class="grid-table" data-testid=testid>
                <thead><tr>
                    <th>{ctx.tr("项目", "Item")}</th><th>{ctx.tr("情况", "Value")}</th><th>{ctx.tr("记录人", "By")}</th>
                    <th>{ctx.tr("时间", "When")}</th><th>{ctx.tr("来源", "How")}</th>
                </tr></thead>
                <tbody>{move || {
                    let c = catalogue.get().unwrap_or(Catalogue::default());
                    ledger.get().map(|l| pick(&l).iter().map(|e| row(e, &c)).collect_view())
                }}</tbody>
            </table>
        }
    };
    let fields = move || {
        let mut out: Vec<(String, String)> = PROFILE_FIELDS.iter().map(|f| (f.word(), f.plain_name(ctx.zh()))).collect();
        if let Some(c) = catalogue.get() {
            out.extend(c.policies.iter().filter(|p| p.active).map(|p| (format!("policy:{}", p.key), if ctx.zh() { p.name_zh.clone() } else { p.name_en.clone() })));
        }
        out
    };

    view! {
        <div class="card" data-testid="household-ledger">
            <h2>{if ctx.zh() { format!("{head} 的台账") } else { format!("Ledger of {head}") }}</h2>
            <ErrorLine error=error/>
            <h3>{ctx.tr("现在", "Now")}</h3>
            {table(|l| &l.current, "ledger-current")}
            <h3>{ctx.tr("更正一项", "Correct one item")}</h3>
            <form class="stack" on:submit=correct>
                <label for="ledger-field">{ctx.tr("项目", "Item")}</label>
                <select id="ledger-field" on:change=move |ev| { value.set(String::new()); field.set(event_target_value(&ev)); }>
                    {move || fields().into_iter().map(|(w, name)| {
                        let selected = field.with_untracked(|f| *f == w);
                        view! { <option value=w selected=selected>{name}</option> }
                    }).collect_view()}
                </select>
                <Show when=move || field.with(|f| !["income", "disability", "livelihood", "needs"].contains(&f.as_str()))>
                    <label for="ledger-value">{ctx.tr("新的情况", "New value")}</label>
                </Show>
                {move || {
                    let f = LedgerField::parse(&field.get());
                    let choices = f.as_ref().map(|f| value_choices(f, ctx.zh())).unwrap_or_default();
                    // The lists are edited whole, starting from what the household has now.
                    let now = move |f: LedgerField| {
                        let held = ledger.with_untracked(|l| {
                            l.as_ref().and_then(|l| l.current.iter().find(|e| e.change.field == f).map(|e| e.change.value.word()))
                        });
                        value.set(held.unwrap_or_else(|| daohu_domain::profile::NONE_WORD.into()));
                    };
                    if f == Some(LedgerField::Income) {
                        now(LedgerField::Income);
                        let shown = move || value.with(|w| Incomes::parse(w).unwrap_or_default());
                        view! { <IncomeChoice value=shown set=move |i| value.set(i.word())/> }.into_any()
                    } else if f == Some(LedgerField::Disability) {
                        now(LedgerField::Disability);
                        let shown = move || value.with(|w| Disabilities::parse(w).unwrap_or_default());
                        view! { <DisabilityCounts value=shown set=move |d| value.set(d.word())/> }.into_any()
                    } else if let Some(pf @ (LedgerField::Livelihood | LedgerField::Needs)) = f {
                        now(pf.clone());
                        let shown = move || value.with(|w| Picks::parse(w).unwrap_or_default());
                        let options = match pf {
                            LedgerField::Needs => Need::choices(ctx.zh()),
                            _ => catalogue.get_untracked().unwrap_or_default().livelihood_choices(&shown(), ctx.zh()),
                        };
                        view! { <PickChoice field=pf options=options value=shown set=move |p| value.set(p.word())/> }.into_any()
                    } else if choices.is_empty() {
                        view! { <input id="ledger-value" type="number" min="0" max="30" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/> }.into_any()
                    } else {
                        view! {
                            <select id="ledger-value" on:change=move |ev| value.set(event_target_value(&ev))>
                                <option value="">{ctx.tr("请选择", "Choose")}</option>
                                {choices.into_iter().map(|(w, label)| view! { <option value=w>{label}</option> }).collect_view()}
                            </select>
                        }.into_any()
                    }
                }}
                <Show when=move || value.with(|v| v == "applying")>
                    <label for="ledger-since">{ctx.tr("开始办理的日期", "Application started on")}</label>
                    <input id="ledger-since" type="date" prop:value=since on:input=move |ev| since.set(event_target_value(&ev))/>
                </Show>
                <button type="submit" class="primary" data-testid="ledger-correct">{ctx.tr("保存更正", "Save the correction")}</button>
                {crate::components::message_line(notice, "ok", "status")}
            </form>
            <h3>{ctx.tr("全部变化", "Every change")}</h3>
            {table(|l| &l.history, "ledger-history")}
        </div>
    }
}
