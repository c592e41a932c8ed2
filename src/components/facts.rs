//! The household profile's list facts as form parts, shared by the visit's
//! step and the console's correction: income sources, livelihood kinds and
//! needs (a checkbox each) and disabled members (a count per grade). Each shows `value` and hands the whole
//! new list to `set` (plain closures, not `Signal`s: a `Signal` prop brought 3 KB
//! of its machinery into the visit app); what a list means stays in `daohu_domain::profile`.

use daohu_domain::profile::{Disabilities, Income, Incomes};
use daohu_domain::{LedgerField, Picks};
use leptos::prelude::*;

use crate::ctx::use_ctx;

#[component]
pub fn IncomeChoice(
    value: impl Fn() -> Incomes + Copy + Send + Sync + 'static,
    set: impl Fn(Incomes) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <fieldset data-testid="income">
            <legend>{LedgerField::Income.plain_name(ctx.zh())}</legend>
            {Income::ALL.into_iter().map(|src| view! {
                <label class="check">
                    <input type="checkbox" name=src.as_str() prop:checked=move || value().has(src)
                        on:change=move |ev| set(untrack(value).with(src, event_target_checked(&ev)))/>
                    <span>{src.label(ctx.zh())}</span>
                </label>
            }).collect_view()}
        </fieldset>
    }
}

/// A set picked from `options` ((key, label), in the list's order): the
/// livelihood kinds or the needs.
#[component]
pub fn PickChoice(
    field: LedgerField,
    options: Vec<(String, String)>,
    value: impl Fn() -> Picks + Copy + Send + Sync + 'static,
    set: impl Fn(Picks) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = use_ctx();
    let order = StoredValue::new(options.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>());
    view! {
        <fieldset data-testid=field.word()>
            <legend>{field.plain_name(ctx.zh())}</legend>
            {options.into_iter().map(|(key, label)| {
                let (k1, k2) = (key.clone(), key.clone());
                view! {
                    <label class="check">
                        <input type="checkbox" name=key prop:checked=move || value().has(&k1)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                set(order.with_value(|o| untrack(value).with(&k2, on, o.iter().map(String::as_str))));
                            }/>
                        <span>{label}</span>
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}

/// A count per grade; a count that is no number, or too many members, keeps the list as it was.
#[component]
pub fn DisabilityCounts(
    value: impl Fn() -> Disabilities + Copy + Send + Sync + 'static,
    set: impl Fn(Disabilities) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <fieldset data-testid="disability">
            <legend>{LedgerField::Disability.plain_name(ctx.zh())}</legend>
            <div class="grades">
                {Disabilities::GRADES.into_iter().map(|g| {
                    let id = format!("disability-{g}");
                    view! {
                        <label for=id.clone()>{if ctx.zh() { format!("{g} 级（人）") } else { format!("Grade {g} (people)") }}</label>
                        <input id=id type="number" inputmode="numeric" min="0" max=daohu_domain::profile::MAX_MEMBERS.to_string()
                            prop:value=move || value().count(g).to_string()
                            on:change=move |ev| {
                                let n = event_target_value(&ev).trim().parse::<usize>().ok();
                                if let Some(d) = n.and_then(|n| untrack(value).with_count(g, n)) { set(d) }
                            }/>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}
