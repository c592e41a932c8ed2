//! Accounts below the coordinator: create, disable, and a one-time QR code
//! that signs a new phone in.

use daohu_domain::{Account, AccountUpdate, Enrollment, NewAccount, OrgTree, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::{load, report, require_coordinator, units_of, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

const ROLES: [Role; 6] = [
    Role::Member,
    Role::GridLeader,
    Role::Volunteer,
    Role::VillageCoordinator,
    Role::TownshipCoordinator,
    Role::CountyCoordinator,
];

#[component]
pub fn AccountsPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let my_role = ctx.session.get_untracked().map(|s| s.member.role).unwrap_or(Role::Member);
    let tree = RwSignal::new(None::<OrgTree>);
    let accounts = RwSignal::new(None::<Vec<Account>>);
    let error = RwSignal::new(None::<String>);
    let enrollment = RwSignal::new(None::<(String, Enrollment)>);
    let reload = move || load(ctx, "/api/accounts".into(), accounts, error);
    load(ctx, "/api/org".into(), tree, error);
    reload();

    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Member);
    let unit = RwSignal::new(None::<Uuid>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(client) = ctx.api() else { return };
        let Some(unit_id) = unit.get_untracked() else {
            error.set(Some(ctx.tr("请选择所属单位", "Choose the unit").into()));
            return;
        };
        let body = NewAccount {
            name: name.get_untracked().trim().into(),
            phone: phone.get_untracked(),
            role: role.get_untracked(),
            unit_id,
            password: password.get_untracked(),
        };
        if let Err(msg) = body.validate() {
            error.set(Some(msg));
            return;
        }
        spawn_local(async move {
            match client.send::<_, Account>("POST", "/api/accounts", Some(&body)).await {
                Ok(_) => {
                    name.set(String::new());
                    phone.set(String::new());
                    password.set(String::new());
                    reload();
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };
    let set_disabled = move |id: Uuid, disabled: bool| {
        let Some(client) = ctx.api() else { return };
        let body = AccountUpdate { disabled: Some(disabled), ..Default::default() };
        spawn_local(async move {
            match client.send::<_, Account>("PATCH", &format!("/api/accounts/{id}"), Some(&body)).await {
                Ok(_) => reload(),
                Err(e) => report(ctx, e, error),
            }
        });
    };
    let enroll = move |id: Uuid, who: String| {
        let Some(client) = ctx.api() else { return };
        spawn_local(async move {
            match client.send::<(), Enrollment>("POST", &format!("/api/accounts/{id}/enroll"), None).await {
                Ok(e) => enrollment.set(Some((who, e))),
                Err(e) => report(ctx, e, error),
            }
        });
    };
    let role_label = move |r: Role| if ctx.zh() { r.label_zh() } else { r.as_str() };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminAccounts/>
            <h1>{ctx.tr("账号", "Accounts")}</h1>
            // A plain page outside the apps changes anyone's password (the current one, then the new one).
            <p><a href="/password.html" data-testid="change-my-password">{ctx.tr("修改我的密码", "Change my password")}</a></p>
            <ErrorLine error=error/>
            {move || enrollment.get().map(|(who, e)| {
                let src = format!("data:image/svg+xml;charset=utf-8,{}", String::from(js_sys::encode_uri_component(&e.qr_svg)));
                view! {
                    <div class="card qr" data-testid="enroll-qr">
                        <p>{format!("{} {}", who, ctx.tr("用手机扫码即可登录（10 分钟内有效，只能用一次）：", "scans this with the phone to sign in (valid 10 minutes, once):"))}</p>
                        <img src=src alt=ctx.tr("登录二维码", "Sign-in QR code") width="240" height="240"/>
                        <p class="muted" data-testid="enroll-url">{e.url.clone()}</p>
                        <button on:click=move |_| enrollment.set(None)>{ctx.tr("关闭", "Close")}</button>
                    </div>
                }
            })}
            <table class="grid-table" data-testid="accounts">
                <thead><tr>
                    <th>{ctx.tr("姓名", "Name")}</th><th>{ctx.tr("角色", "Role")}</th><th>{ctx.tr("单位", "Unit")}</th><th></th>
                </tr></thead>
                <tbody>
                    {move || accounts.get().unwrap_or_default().into_iter().map(|a| {
                        let (id, who, disabled) = (a.id, a.name.clone(), a.disabled);
                        view! {
                            <tr class:muted=disabled>
                                <td>{a.name.clone()}<br/><small>{a.phone.clone()}</small></td>
                                <td>{role_label(a.role)}{(a.households > 0).then(|| format!(" · {}{}", a.households, ctx.tr("户", " hh")))}</td>
                                <td>{a.unit_name.clone()}</td>
                                <td class="actions">
                                    <button on:click=move |_| enroll(id, who.clone())>{ctx.tr("登录二维码", "QR sign-in")}</button>
                                    <button on:click=move |_| set_disabled(id, !disabled)>
                                        {if disabled { ctx.tr("启用", "Enable") } else { ctx.tr("停用", "Disable") }}
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h2>{ctx.tr("新建账号", "New account")}</h2>
            <form on:submit=create class="stack">
                <label for="acc-name">{ctx.tr("姓名", "Name")}</label>
                <input id="acc-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="acc-phone">{ctx.tr("手机号", "Phone")}</label>
                <input id="acc-phone" type="tel" prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev))/>
                <label for="acc-role">{ctx.tr("角色", "Role")}</label>
                <select id="acc-role" on:change=move |ev| {
                    if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r); unit.set(None); }
                }>
                    {ROLES.into_iter().filter(|r| my_role.can_manage(*r)).map(|r| view! {
                        <option value=r.as_str() selected=move || role.get() == r>{role_label(r)}</option>
                    }).collect_view()}
                </select>
                <label for="acc-unit">{ctx.tr("所属单位", "Unit")}</label>
                <select id="acc-unit" on:change=move |ev| unit.set(Uuid::parse_str(&event_target_value(&ev)).ok())>
                    <option value="">{ctx.tr("请选择", "Choose")}</option>
                    {move || units_of(&tree.get(), role.get().unit_kind()).into_iter().map(|(id, n)| view! {
                        <option value=id.to_string()>{n}</option>
                    }).collect_view()}
                </select>
                <label for="acc-password">{ctx.tr("初始密码（可不填，改用扫码登录；本人第一次登录时要换成自己的密码）", "First password (optional: QR sign-in instead; the person chooses their own at first sign-in)")}</label>
                <input id="acc-password" type="password" autocomplete="new-password" prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" class="primary">{ctx.tr("新建", "Create")}</button>
            </form>
        </section>
    }
}
