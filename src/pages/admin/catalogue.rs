//! The county's policy catalogue (政策目录): every coordinator sees the
//! policies the household ledger follows (a township's or village's own among
//! them, which it adds and changes for its households alone); the county coordinator adds, retires
//! and brings back policies. Each edit is a new version on the server, made
//! from the version on this screen (another's edit in between is refused, and
//! the screen shows the newer one). Below the policies, the same for the
//! service and livelihood kinds and the help resources.

use daohu_domain::kinds::{Item, ItemList, Local};
use daohu_domain::ledger::{Catalogue, CatalogueChange, CatalogueEdit, Policy};
use daohu_domain::{Intervals, Role, SpecialGroup};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{load, report, require_coordinator, AdminNav, ErrorLine};
use crate::api::ApiFailure;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

#[component]
pub fn CataloguePage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let catalogue = RwSignal::new(None::<Catalogue>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let refresh = move || load(ctx, "/api/catalogue".into(), catalogue, error);
    refresh();
    let county = ctx.session.get_untracked().is_some_and(|s| s.member.role == Role::CountyCoordinator);
    // A township's or village's coordinator changes the entries their unit
    // added (the server decides; its name tells them apart on this screen).
    let own = StoredValue::new(ctx.session.get_untracked().map(|s| s.member.village).filter(|_| !county));
    let may = move |local: Option<&Local>| own.with_value(|o| o.as_ref().is_none_or(|o| local.is_some_and(|l| &l.name == o)));
    let scope = move |local: Option<&Local>| local.map_or_else(|| ctx.tr("全县", "Whole county").to_string(), |l| l.name.clone());

    let send = move |change: CatalogueChange, done: Done| {
        let Some(client) = ctx.api() else { return };
        let edit = CatalogueEdit { base_version: catalogue.get_untracked().map(|c| c.version), change };
        notice.set(None);
        spawn_local(async move {
            match client.send::<_, Catalogue>("POST", "/api/catalogue/changes", Some(&edit)).await {
                Ok(c) => {
                    notice.set(Some(format!("{}{}{}", ctx.tr("已保存，政策目录第 ", "Saved: catalogue version "), c.version, ctx.tr(" 版", ""))));
                    catalogue.set(Some(c));
                    error.set(None);
                    done();
                }
                Err(e) => {
                    let changed = matches!(&e, ApiFailure::Server { error, .. } if error.error == "catalogue_changed");
                    report(ctx, e, error);
                    if changed {
                        // Another edit came first: show what is there now, keeping the reason on screen.
                        load(ctx, "/api/catalogue".into(), catalogue, RwSignal::new(None));
                    }
                }
            }
        });
    };

    let key = RwSignal::new(String::new());
    let name_zh = RwSignal::new(String::new());
    let name_en = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let days = RwSignal::new(String::from("30"));
    let groups = RwSignal::new(Vec::<SpecialGroup>::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let policy = Policy {
            key: key.get_untracked().trim().to_string(),
            name_zh: name_zh.get_untracked().trim().to_string(),
            name_en: name_en.get_untracked().trim().to_string(),
            description: description.get_untracked().trim().to_string(),
            groups: groups.get_untracked(),
            // The server says why a number out of range is refused.
            apply_days: days.get_untracked().trim().parse().unwrap_or(0),
            active: true,
            // The server sets where it applies (the adder's unit).
            local: None,
        };
        send(CatalogueChange::Add { policy }, Box::new(move || {
            for field in [key, name_zh, name_en, description] {
                field.set(String::new());
            }
            days.set("30".into());
            groups.set(Vec::new());
        }));
    };
    let label = move |g: SpecialGroup| if ctx.zh() { g.label_zh() } else { g.label_en() };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminCatalogue/>
            <h1>{ctx.tr("政策目录", "Policy catalogue")}</h1>
            <p class="hint">{ctx.tr(
                "联户党员走访时按这份目录记录每户可享受的政策落实情况。停用的政策留在历史记录里，不能再记录。",
                "Members record each household's policies from this list at their visits. A retired policy stays in the records but takes nothing new.",
            )}</p>
            <ErrorLine error=error/>
            {crate::components::message_line(notice, "ok", "status")}
            {move || catalogue.get().map(|c| view! {
                <p data-testid="catalogue-version">{format!("{} {} · {} {}", ctx.tr("第", "Version"), c.version,
                    c.policies.iter().filter(|p| p.active).count(), ctx.tr("项在用", "in use"))}</p>
                <table class="grid-table" data-testid="catalogue">
                    <thead><tr>
                        <th>{ctx.tr("政策", "Policy")}</th><th>{ctx.tr("主要对象", "Usually for")}</th>
                        <th>{ctx.tr("办理期限", "Time to apply")}</th><th>{ctx.tr("适用范围", "Applies in")}</th>
                        <th>{ctx.tr("状态", "State")}</th><th>{ctx.tr("操作", "Change")}</th>
                    </tr></thead>
                    <tbody>{c.policies.into_iter().map(|p| {
                        let (k, active, mine) = (p.key.clone(), p.active, may(p.local.as_ref()));
                        view! {
                            <tr data-key=p.key.clone()>
                                <td>{if ctx.zh() { p.name_zh.clone() } else { p.name_en.clone() }}
                                    {(!p.description.is_empty()).then(|| view! { <br/><small>{p.description.clone()}</small> })}</td>
                                <td>{ctx.join(p.groups.iter().map(|g| label(*g)))}</td>
                                <td>{format!("{} {}", p.apply_days, ctx.tr("天", "days"))}</td>
                                <td>{scope(p.local.as_ref())}</td>
                                <td>{if active { ctx.tr("在用", "In use") } else { ctx.tr("已停用", "Retired") }}</td>
                                <td>{mine.then(|| view! {
                                    <button class="link" on:click=move |_| {
                                        let key = k.clone();
                                        send(if active { CatalogueChange::Retire { key } } else { CatalogueChange::Reactivate { key } }, Box::new(|| {}));
                                    }>{if active { ctx.tr("停用", "Retire") } else { ctx.tr("恢复", "Bring back") }}</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            })}
            {move || catalogue.get().map(|c| view! { <IntervalsForm intervals=c.intervals.clone() county=county send=send/> })}
            {move || catalogue.get().map(|c| view! { <ItemLists catalogue=c may=may send=send/> })}
            {own.with_value(|o| o.clone()).map(|o| view! {
                <p class="hint" data-testid="local-hint">{format!("{}{o}{}", ctx.tr("你新增的政策和条目只适用于", "What you add applies in "), ctx.tr("以下的户。", " and below only."))}</p>
            })}
            {view! {
                <h2>{ctx.tr("新增政策", "Add a policy")}</h2>
                <form on:submit=add class="stack" data-testid="policy-form">
                    <NameFields prefix="p" key=key name_zh=name_zh name_en=name_en/>
                    <label for="p-desc">{ctx.tr("说明（可不填）", "Description (optional)")}</label>
                    <input id="p-desc" prop:value=description on:input=move |ev| description.set(event_target_value(&ev))/>
                    <label for="p-days">{ctx.tr("帮办代办期限（天）", "Days an application may take")}</label>
                    <input id="p-days" type="number" min="1" max="365" inputmode="numeric" prop:value=days on:input=move |ev| days.set(event_target_value(&ev))/>
                    <fieldset>
                        <legend>{ctx.tr("主要对象（这些户走访时排在前面）", "Usually for (shown first at these households' visits)")}</legend>
                        {SpecialGroup::ALL.into_iter().map(|g| view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || groups.with(|all| all.contains(&g))
                                    on:change=move |_| groups.update(|all| if let Some(i) = all.iter().position(|x| *x == g) { all.remove(i); } else { all.push(g); })/>
                                {label(g)}
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <button type="submit" class="primary">{ctx.tr("新增政策", "Add policy")}</button>
                </form>
            }}
        </section>
    }
}

/// What to do once an edit is saved (clear the form).
type Done = Box<dyn Fn() + Send + Sync>;

/// The catalogue's other lists, one table each (service kinds, livelihood
/// kinds, each kind of help resource, then four sections' checklists), with
/// the county coordinator's retire / bring back, and one form that adds to any list.
#[component]
fn ItemLists(
    catalogue: Catalogue,
    may: impl Fn(Option<&Local>) -> bool + Copy + Send + Sync + 'static,
    send: impl Fn(CatalogueChange, Done) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = use_ctx();
    let list = RwSignal::new(ItemList::Service);
    let key = RwSignal::new(String::new());
    let name_zh = RwSignal::new(String::new());
    let name_en = RwSignal::new(String::new());
    let contact = RwSignal::new(String::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let item = Item {
            list: list.get_untracked(),
            key: key.get_untracked().trim().to_string(),
            name_zh: name_zh.get_untracked().trim().to_string(),
            name_en: name_en.get_untracked().trim().to_string(),
            contact: contact.get_untracked().trim().to_string(),
            active: true,
            local: None,
        };
        send(CatalogueChange::AddItem { item }, Box::new(move || {
            for field in [key, name_zh, name_en, contact] {
                field.set(String::new());
            }
        }));
    };
    view! {
        {ItemList::ALL.into_iter().map(|l| {
            let items = catalogue.kinds(l);
            view! {
                <h2>{l.label(ctx.zh())}</h2>
                <table class="grid-table" data-testid=format!("items-{}", l.as_str())>
                    <thead><tr>
                        <th>{ctx.tr("名称", "Name")}</th>
                        {l.is_resource().then(|| view! { <th>{ctx.tr("联系方式", "Contact")}</th> })}
                        <th>{ctx.tr("适用范围", "Applies in")}</th><th>{ctx.tr("状态", "State")}</th><th>{ctx.tr("操作", "Change")}</th>
                    </tr></thead>
                    <tbody>{items.into_iter().map(|i| {
                        let (k, active, mine) = (i.key.clone(), i.active, may(i.local.as_ref()));
                        let scope = i.local.as_ref().map_or_else(|| ctx.tr("全县", "Whole county").to_string(), |l| l.name.clone());
                        view! {
                            <tr data-key=i.key.clone()>
                                <td>{i.name(ctx.zh()).to_string()}</td>
                                {l.is_resource().then(|| view! { <td>{i.contact.clone()}</td> })}
                                <td>{scope}</td>
                                <td>{if active { ctx.tr("在用", "In use") } else { ctx.tr("已停用", "Retired") }}</td>
                                <td>{mine.then(|| view! {
                                    <button class="link" on:click=move |_| {
                                        let key = k.clone();
                                        send(if active { CatalogueChange::RetireItem { list: l, key } } else { CatalogueChange::ReactivateItem { list: l, key } }, Box::new(|| {}));
                                    }>{if active { ctx.tr("停用", "Retire") } else { ctx.tr("恢复", "Bring back") }}</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            }
        }).collect_view()}
        {view! {
            <h2>{ctx.tr("新增检查事项、类别或帮扶资源", "Add a checklist item, a kind or a help resource")}</h2>
            <form on:submit=add class="stack" data-testid="item-form">
                <label for="i-list">{ctx.tr("加到", "Add to")}</label>
                <select id="i-list" on:change=move |ev| if let Some(l) = ItemList::parse(&event_target_value(&ev)) { list.set(l) }>
                    {ItemList::ALL.into_iter().map(|l| view! {
                        <option value=l.as_str() selected=move || list.get() == l>{l.label(ctx.zh())}</option>
                    }).collect_view()}
                </select>
                <NameFields prefix="i" key=key name_zh=name_zh name_en=name_en/>
                <Show when=move || list.get().is_resource()>
                    <label for="i-contact">{ctx.tr("联系人和电话", "Contact person and phone")}</label>
                    <input id="i-contact" prop:value=contact on:input=move |ev| contact.set(event_target_value(&ev))/>
                </Show>
                <button type="submit" class="primary">{ctx.tr("新增", "Add")}</button>
            </form>
        }}
    }
}

/// The county's visit intervals: ordinary households, special groups, and any
/// group with its own (a blank group takes the special groups' days). Other
/// coordinators see them; the county coordinator changes them.
#[component]
fn IntervalsForm(intervals: Intervals, county: bool, send: impl Fn(CatalogueChange, Done) + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = use_ctx();
    let days = |d: u32| RwSignal::new(d.to_string());
    let ordinary = days(intervals.ordinary);
    let special = days(intervals.special);
    let groups: Vec<(SpecialGroup, RwSignal<String>)> = SpecialGroup::ALL
        .into_iter()
        .map(|g| (g, RwSignal::new(intervals.groups.iter().find(|(x, _)| *x == g).map(|(_, d)| d.to_string()).unwrap_or_default())))
        .collect();
    let read = groups.clone();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A number that is no number is sent as 0, which the server refuses by name.
        let n = |s: RwSignal<String>| s.get_untracked().trim().parse().unwrap_or(0);
        let own = read.iter().filter(|(_, s)| !s.get_untracked().trim().is_empty()).map(|(g, s)| (*g, n(*s))).collect();
        send(CatalogueChange::SetIntervals { intervals: Intervals { ordinary: n(ordinary), special: n(special), groups: own } }, Box::new(|| {}));
    };
    let field = move |id: String, label: String, value: RwSignal<String>| view! {
        <label for=id.clone()>{label}</label>
        <input id=id type="number" min="1" max="365" inputmode="numeric" disabled=!county
            prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
    };
    view! {
        <h2>{ctx.tr("走访周期（天）", "Visit intervals (days)")}</h2>
        <form class="stack" on:submit=save data-testid="intervals">
            {field("iv-ordinary".into(), ctx.tr("一般户", "Ordinary households").into(), ordinary)}
            {field("iv-special".into(), ctx.tr("特殊群体户", "Special groups").into(), special)}
            {groups.into_iter().map(|(g, value)| {
                let label = format!("{}{}", if ctx.zh() { g.label_zh() } else { g.label_en() }, ctx.tr("（不填同特殊群体）", " (blank: as special groups)"));
                field(format!("iv-{}", g.as_str()), label, value)
            }).collect_view()}
            {county.then(|| view! { <button type="submit" class="primary">{ctx.tr("保存走访周期", "Save the intervals")}</button> })}
        </form>
    }
}

/// A new entry's code and its two names (ids `{prefix}-key`, `-zh`, `-en`),
/// the same for a policy and for a kind or help resource.
#[component]
fn NameFields(prefix: &'static str, key: RwSignal<String>, name_zh: RwSignal<String>, name_en: RwSignal<String>) -> impl IntoView {
    let ctx = use_ctx();
    let field = move |suffix: &str, label: &'static str, value: RwSignal<String>| {
        let id = format!("{prefix}-{suffix}");
        view! {
            <label for=id.clone()>{label}</label>
            <input id=id autocomplete="off" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
        }
    };
    view! {
        {field("key", ctx.tr("代码（英文小写字母、数字、下划线，如 wuzhangai）", "Code (lowercase letters, digits, _; e.g. wuzhangai)"), key)}
        {field("zh", ctx.tr("中文名称", "Chinese name"), name_zh)}
        {field("en", ctx.tr("英文名称", "English name"), name_en)}
    }
}
