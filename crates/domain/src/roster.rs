//! The household roster (联户花名册) as offices keep it: reading its columns and
//! rows, with a reason in plain words for every row that cannot be taken.
//! File formats (CSV, XLSX) are read by the server; this is what a row means.

use serde::{Deserialize, Serialize};

use crate::auth::normalize_phone;
use crate::household::SpecialGroup;

/// The columns a roster needs, found by their Chinese (or English) headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterColumns {
    pub grid: usize,
    pub head_name: usize,
    pub address: usize,
    pub people: Option<usize>,
    pub phone: Option<usize>,
    pub special_groups: Option<usize>,
}

const GRID: &[&str] = &["网格", "所属网格", "网格名称", "村民小组", "grid"];
const HEAD: &[&str] = &["户主", "户主姓名", "姓名", "head", "head of household"];
const ADDRESS: &[&str] = &["门牌号", "门牌", "住址", "地址", "家庭住址", "门牌号/地址", "address", "doorplate"];
const PEOPLE: &[&str] = &["人口", "家庭人口", "人口数", "户籍人口", "people"];
const PHONE: &[&str] = &["联系电话", "电话", "手机", "手机号", "phone"];
const GROUPS: &[&str] = &["特殊群体", "户类型", "类别", "special groups"];

fn norm_header(h: &str) -> String {
    h.trim().trim_start_matches('\u{feff}').replace([' ', '　'], "").to_lowercase()
}

impl RosterColumns {
    /// Finds the columns by header; says which required ones are missing.
    pub fn from_headers(headers: &[String]) -> Result<RosterColumns, String> {
        let find = |names: &[&str]| {
            headers.iter().position(|h| {
                let h = norm_header(h);
                names.iter().any(|n| norm_header(n) == h)
            })
        };
        let (grid, head, address) = (find(GRID), find(HEAD), find(ADDRESS));
        let mut missing = Vec::new();
        if grid.is_none() {
            missing.push("网格");
        }
        if head.is_none() {
            missing.push("户主");
        }
        if address.is_none() {
            missing.push("门牌号");
        }
        match (grid, head, address) {
            (Some(grid), Some(head_name), Some(address)) => Ok(RosterColumns {
                grid,
                head_name,
                address,
                people: find(PEOPLE),
                phone: find(PHONE),
                special_groups: find(GROUPS),
            }),
            _ => Err(format!("表格缺少这些列：{}（第一行应为表头）", missing.join("、"))),
        }
    }
}

/// One roster row, read and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterRow {
    pub grid: String,
    pub head_name: String,
    pub address: String,
    pub people: u16,
    pub phone: Option<String>,
    pub special_groups: Vec<SpecialGroup>,
}

/// Whether a phone number looks real: a mobile (11 digits from 1) or a
/// landline with area code (0 then 9 to 11 more digits), dashes allowed.
pub fn is_valid_phone(raw: &str) -> bool {
    let p = normalize_phone(raw);
    let digits = p.chars().all(|c| c.is_ascii_digit());
    digits && ((p.len() == 11 && p.starts_with('1')) || (p.starts_with('0') && (10..=12).contains(&p.len())))
}

impl RosterRow {
    /// Reads one row by the found columns. Every problem is reported, not just the first.
    pub fn parse(cols: &RosterColumns, cells: &[String]) -> Result<RosterRow, Vec<String>> {
        let cell = |i: usize| cells.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
        let opt = |i: Option<usize>| i.map(cell).filter(|s| !s.is_empty());
        let mut problems = Vec::new();
        let grid = cell(cols.grid);
        if grid.is_empty() {
            problems.push("没有填网格".to_string());
        }
        let head_name = cell(cols.head_name);
        if head_name.is_empty() {
            problems.push("没有填户主姓名".to_string());
        }
        let address = cell(cols.address);
        if address.is_empty() {
            problems.push("没有填门牌号".to_string());
        }
        let people = match opt(cols.people) {
            None => 0,
            // Spreadsheets often hand numbers over as "3.0".
            Some(p) => match p.trim_end_matches(".0").parse::<u16>() {
                Ok(n) if n <= 99 => n,
                _ => {
                    problems.push(format!("人口“{p}”不是 0 到 99 的整数"));
                    0
                }
            },
        };
        let phone = opt(cols.phone).map(|p| p.trim_end_matches(".0").to_string());
        if let Some(p) = &phone {
            if !is_valid_phone(p) {
                problems.push(format!("电话“{p}”不对：手机应为 11 位，座机应带区号"));
            }
        }
        let mut special_groups = Vec::new();
        if let Some(g) = opt(cols.special_groups) {
            for name in g.split(['、', ',', '，', ';', '；', '/', ' ', '　']).filter(|s| !s.trim().is_empty()) {
                match SpecialGroup::from_label(name) {
                    Some(sg) if !special_groups.contains(&sg) => special_groups.push(sg),
                    Some(_) => {}
                    None if matches!(name.trim(), "无" | "否" | "一般户" | "-") => {}
                    None => problems.push(format!("不认识的特殊群体“{}”", name.trim())),
                }
            }
            special_groups.sort();
        }
        if problems.is_empty() {
            Ok(RosterRow {
                grid,
                head_name,
                address,
                people,
                phone: phone.map(|p| normalize_phone(&p)),
                special_groups,
            })
        } else {
            Err(problems)
        }
    }
}

named_enum! {
    /// What importing a row will do (preview) or did (commit).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ImportAction {
        Add = "add",
        Change = "change",
        Unchanged = "unchanged",
        Refuse = "refuse",
    }
}

/// One row of an import preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRowResult {
    /// Row number as the spreadsheet shows it (the header is row 1).
    pub row: u32,
    pub action: ImportAction,
    /// Why a row is refused, or which fields change.
    pub notes: Vec<String>,
    pub grid: String,
    pub head_name: String,
    pub address: String,
}

/// What an import will do, row by row. Committing needs the same file and the
/// same `digest`, so what lands is exactly what the coordinator saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub digest: String,
    pub rows: Vec<ImportRowResult>,
    pub added: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub refused: u32,
    /// Whether this answer reports a commit (true) or only a preview.
    pub committed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    fn cols() -> RosterColumns {
        RosterColumns::from_headers(&headers(&["网格", "户主", "门牌号", "人口", "联系电话", "特殊群体"])).unwrap()
    }

    fn row(cells: &[&str]) -> Result<RosterRow, Vec<String>> {
        RosterRow::parse(&cols(), &headers(cells))
    }

    #[test]
    fn headers_are_found_by_synonyms_and_bom() {
        let c = RosterColumns::from_headers(&headers(&["\u{feff}户主姓名", "家庭住址", "所属网格"])).unwrap();
        assert_eq!((c.head_name, c.address, c.grid), (0, 1, 2));
        assert_eq!(c.phone, None);
        let err = RosterColumns::from_headers(&headers(&["姓名", "电话"])).unwrap_err();
        assert!(err.contains("网格") && err.contains("门牌号") && !err.contains("户主、"));
    }

    #[test]
    fn a_good_row_is_read() {
        let r = row(&["第一网格", "张三", "一组1号", "4.0", "139-0000-0001", "五保户、重病"]).unwrap();
        assert_eq!(r.people, 4);
        assert_eq!(r.phone.as_deref(), Some("13900000001"));
        assert_eq!(r.special_groups, vec![SpecialGroup::ExtremePoverty, SpecialGroup::SeriouslyIll]);
        let r = row(&["第一网格", "李四", "一组2号", "", "0931-1234567", "无"]).unwrap();
        assert_eq!(r.phone.as_deref(), Some("09311234567"));
        assert!(r.special_groups.is_empty());
    }

    #[test]
    fn bad_rows_say_every_reason() {
        let errs = row(&["", "张三", "一组1号", "three", "12345", "富裕户"]).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].contains("网格"));
        assert!(errs.iter().any(|e| e.contains("人口")));
        assert!(errs.iter().any(|e| e.contains("12345")));
        assert!(errs.iter().any(|e| e.contains("富裕户")));
        assert!(row(&["第一网格", "", "", "", "", ""]).unwrap_err().len() == 2);
    }

    #[test]
    fn phones() {
        assert!(is_valid_phone("13800000001"));
        assert!(is_valid_phone("0931-8123456"));
        assert!(!is_valid_phone("1380000000"));
        assert!(!is_valid_phone("abc"));
        assert!(!is_valid_phone("23800000001"));
    }
}
