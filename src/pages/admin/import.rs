//! Roster import (联户花名册): pick the village and the XLSX or CSV file, see
//! every row that will be added, changed or refused and why, then confirm.
//! The confirm sends the same file with the preview's digest, so exactly what
//! was shown lands, all at once or not at all.

use daohu_domain::{ImportAction, ImportPreview, OrgTree, UnitKind};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;
use wasm_bindgen::JsCast;

use super::{load, report, require_coordinator, units_of, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

fn content_type(file: &web_sys::File) -> &'static str {
    // Its last five bytes without regard to ASCII case: `to_lowercase` (the same
    // answer for this suffix) brought Unicode's case tables into the console's wasm.
    let name = file.name();
    if name.get(name.len().saturating_sub(5)..).is_some_and(|end| end.eq_ignore_ascii_case(".xlsx")) {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv"
    }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let tree = RwSignal::new(None::<OrgTree>);
    let error = RwSignal::new(None::<String>);
    load(ctx, "/api/org".into(), tree, error);
    let village = RwSignal::new(None::<Uuid>);
    let file = StoredValue::new_local(None::<web_sys::File>);
    let preview = RwSignal::new(None::<ImportPreview>);
    let busy = RwSignal::new(false);

    let run = move |commit: bool| {
        let (Some(client), Some(v)) = (ctx.api(), village.get_untracked()) else {
            error.set(Some(ctx.tr("请先选村和文件", "Choose the village and the file first").into()));
            return;
        };
        let Some(f) = file.get_value() else {
            error.set(Some(ctx.tr("请先选村和文件", "Choose the village and the file first").into()));
            return;
        };
        let mut path = format!("/api/roster/import?village_id={v}&mode={}", if commit { "commit" } else { "preview" });
        if commit {
            match preview.get_untracked() {
                Some(p) => path.push_str(&format!("&digest={}", p.digest)),
                None => return,
            }
        }
        busy.set(true);
        spawn_local(async move {
            match client.send_file::<ImportPreview>(&path, &f, content_type(&f)).await {
                Ok(p) => {
                    preview.set(Some(p));
                    error.set(None);
                }
                Err(e) => report(ctx, e, error),
            }
            busy.set(false);
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        file.set_value(input.and_then(|i| i.files()).and_then(|l| l.get(0)));
        preview.set(None);
    };
    let action_label = move |a: ImportAction| match (a, ctx.zh()) {
        (ImportAction::Add, true) => "新增",
        (ImportAction::Change, true) => "修改",
        (ImportAction::Unchanged, true) => "不变",
        (ImportAction::Refuse, true) => "不能导入",
        (ImportAction::Add, false) => "add",
        (ImportAction::Change, false) => "change",
        (ImportAction::Unchanged, false) => "unchanged",
        (ImportAction::Refuse, false) => "refused",
    };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminImport/>
            <h1>{ctx.tr("导入联户花名册", "Import the household roster")}</h1>
            <p class="hint">{ctx.tr("支持 Excel（.xlsx）和 CSV。第一行是表头：网格、户主、门牌号、人口、联系电话、特殊群体。", "Excel (.xlsx) or CSV. First row: grid, head of household, doorplate, people, phone, special groups.")}</p>
            <ErrorLine error=error/>
            <label for="imp-village">{ctx.tr("导入到哪个村", "Village")}</label>
            <select id="imp-village" on:change=move |ev| { village.set(Uuid::parse_str(&event_target_value(&ev)).ok()); preview.set(None); }>
                <option value="">{ctx.tr("请选择", "Choose")}</option>
                {move || units_of(&tree.get(), UnitKind::Village).into_iter().map(|(id, n)| view! {
                    <option value=id.to_string()>{n}</option>
                }).collect_view()}
            </select>
            <label for="imp-file">{ctx.tr("花名册文件", "Roster file")}</label>
            <input id="imp-file" type="file" accept=".xlsx,.csv,text/csv" on:change=on_file/>
            <button class="big" on:click=move |_| run(false) disabled=move || busy.get() data-testid="import-preview">{ctx.tr("预览", "Preview")}</button>
            <OutboxFileImport/>
            {move || preview.get().map(|p| {
                let committed = p.committed;
                view! {
                    <p role="status" data-testid="import-summary" class:ok=committed>
                        {if committed { ctx.tr("已导入：", "Imported: ") } else { ctx.tr("预览：", "Preview: ") }}
                        {format!("{} {} · {} {} · {} {} · {} {}",
                            ctx.tr("新增", "add"), p.added, ctx.tr("修改", "change"), p.changed,
                            ctx.tr("不变", "unchanged"), p.unchanged, ctx.tr("不能导入", "refused"), p.refused)}
                    </p>
                    {(!committed && p.added + p.changed > 0).then(|| view! {
                        <button class="primary big" on:click=move |_| run(true) disabled=move || busy.get() data-testid="import-commit">
                            {ctx.tr("确认导入", "Import now")}
                        </button>
                    })}
                    <table class="grid-table" data-testid="import-rows">
                        <thead><tr><th>{ctx.tr("行", "Row")}</th><th>{ctx.tr("结果", "Result")}</th><th>{ctx.tr("户", "Household")}</th><th>{ctx.tr("说明", "Notes")}</th></tr></thead>
                        <tbody>
                            {p.rows.into_iter().filter(|r| r.action != ImportAction::Unchanged).map(|r| view! {
                                <tr class:refused=r.action == ImportAction::Refuse>
                                    <td>{r.row}</td>
                                    <td>{action_label(r.action)}</td>
                                    <td>{format!("{} · {} · {}", r.grid, r.head_name, r.address)}</td>
                                    <td>{r.notes.join("；")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
        </section>
    }
}

/// A phone that could not upload: the member sent its export file
/// (`daohu-outbox-….json`); importing it stores each visit exactly once.
#[component]
fn OutboxFileImport() -> impl IntoView {
    let ctx = use_ctx();
    let error = RwSignal::new(None::<String>);
    let result = RwSignal::new(None::<String>);
    let file = StoredValue::new_local(None::<web_sys::File>);
    let on_file = move |ev: leptos::ev::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        file.set_value(input.and_then(|i| i.files()).and_then(|l| l.get(0)));
        result.set(None);
    };
    let send = move |_| {
        let (Some(client), Some(f)) = (ctx.api(), file.get_value()) else { return };
        spawn_local(async move {
            match client.send_file::<daohu_domain::SyncResponse>("/api/sync/import", &f, "application/json").await {
                Ok(r) => {
                    let count = |s: daohu_domain::ReceiptStatus| r.receipts.iter().filter(|x| x.status == s).count();
                    result.set(Some(format!(
                        "{} {} · {} {} · {} {} · {} {}",
                        ctx.tr("新存入", "stored"), count(daohu_domain::ReceiptStatus::Stored),
                        ctx.tr("已有", "already there"), count(daohu_domain::ReceiptStatus::Duplicate),
                        ctx.tr("冲突", "conflicts"), count(daohu_domain::ReceiptStatus::Conflict),
                        ctx.tr("未接收", "refused"), count(daohu_domain::ReceiptStatus::Rejected),
                    )));
                    error.set(None);
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };
    view! {
        <h2>{ctx.tr("导入党员手机导出的记录", "Import a phone's export file")}</h2>
        <p class="hint">{ctx.tr("手机一直传不上来时，党员可在“待上传”里导出文件发给你。同一条记录只会存一次。", "When a phone cannot upload, the member exports a file from the outbox. Each record is stored once.")}</p>
        <ErrorLine error=error/>
        <label for="outbox-file">{ctx.tr("导出的文件（.json）", "Export file (.json)")}</label>
        <input id="outbox-file" type="file" accept=".json,application/json" on:change=on_file/>
        <button class="big" on:click=send data-testid="import-outbox">{ctx.tr("导入", "Import")}</button>
        <Show when=move || result.get().is_some()>
            <p class="ok" role="status" data-testid="outbox-import-result">{move || result.get()}</p>
        </Show>
    }
}
