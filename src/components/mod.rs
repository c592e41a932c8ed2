//! Reusable parts of screens.

pub mod facts;
pub mod header;
pub mod link;
pub mod lock;
pub mod problem;
pub mod update;

use daohu_domain::SyncState;
use leptos::prelude::*;

/// A line shown while `text` holds a message: `<p class=.. role=..>`, for a
/// failure ("error", "alert") or a notice ("ok", "status"). One function for
/// every screen's such line: each `<Show>` written out compiled its own copy of
/// Show's machinery, about 1 KB of wasm apiece.
pub fn message_line(text: RwSignal<Option<String>>, class: &'static str, role: &'static str) -> impl IntoView {
    view! {
        <Show when=move || text.get().is_some()>
            <p class=class role=role>{move || text.get()}</p>
        </Show>
    }
}

/// Where a stored visit stands, in plain words.
pub fn sync_label(s: &SyncState, zh: bool) -> String {
    match (s, zh) {
        (SyncState::Draft, true) => "未完成（草稿）".into(),
        (SyncState::Draft, false) => "Unfinished (draft)".into(),
        (SyncState::Pending, true) => "已保存，等待上传".into(),
        (SyncState::Pending, false) => "Saved, waiting to upload".into(),
        (SyncState::Stored { .. }, true) => "已上传".into(),
        (SyncState::Stored { .. }, false) => "Uploaded".into(),
        (SyncState::Conflict { reason }, true) => format!("需要处理：{reason}"),
        (SyncState::Conflict { reason }, false) => format!("Needs attention: {reason}"),
        (SyncState::Rejected { reason }, true) => format!("服务器没有接收：{reason}"),
        (SyncState::Rejected { reason }, false) => format!("Not accepted by the server: {reason}"),
    }
}

/// A small key for where a visit stands, so lists re-render a row when it changes.
pub fn sync_key(s: &SyncState) -> u8 {
    match s {
        SyncState::Draft => 0,
        SyncState::Pending => 1,
        SyncState::Stored { .. } => 2,
        SyncState::Conflict { .. } => 3,
        SyncState::Rejected { .. } => 4,
    }
}
