//! The visit log's SQL: a [`VisitFilter`] checked against the caller's subtree
//! and turned into one query text per database, and a stored visit read back by id.
//!
//! Every query starts from the households under one unit of the subtree (the
//! filter's `unit_id`, else the subtree's top), so nothing outside it can match.
//! Ids in the filter are checked first: outside the subtree answers 404.

use chrono::{Datelike, NaiveDate};
use daohu_domain::{SectionKind, VisitFilter};
use sqlx::any::AnyArguments;
use uuid::Uuid;

use crate::db::{Conn, Dialect};
use crate::tree::Subtree;
use crate::AppError;

/// Rows one page of the log answers when the filter names no limit.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most rows one page answers.
pub const MAX_LIMIT: u32 = 500;
/// Longest free-text filter (characters).
pub const MAX_Q_CHARS: usize = 100;

/// Bound values and their numbers: each placeholder is made with its value, so
/// conditions added in any order and number stay in step with what is bound.
#[derive(Clone, Debug, Default)]
struct Params {
    values: Vec<Param>,
}

/// One bound value, as its own type (the generic driver binds text and integers).
#[derive(Clone, Debug)]
enum Param {
    Text(String),
    Int(i64),
}

impl Params {
    /// Binds `value` as the next parameter; its placeholder (`$n`).
    fn bind(&mut self, value: impl Into<String>) -> String {
        self.push(Param::Text(value.into()))
    }

    /// Binds an integer as the next parameter; its placeholder.
    fn bind_int(&mut self, value: i64) -> String {
        self.push(Param::Int(value))
    }

    fn push(&mut self, value: Param) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }
}

pub use super::like_pattern;

/// The tables every log query reads.
const LOG_FROM: &str = "visits v
    JOIN households h ON h.id = v.household_id
    JOIN units g ON g.id = h.grid_id
    JOIN units vil ON vil.id = g.parent_id
    JOIN members m ON m.id = v.member_id";

/// What the conditions need: no village, and the member only for `q`.
const FILTER_FROM: &str = "visits v
    JOIN households h ON h.id = v.household_id
    JOIN units g ON g.id = h.grid_id";

/// Newest first; the id breaks ties so pages never overlap.
const LOG_ORDER: &str = "v.visited_on DESC, v.recorded_at DESC, v.id DESC";

/// The columns of [`RawLogRow`].
const LOG_COLUMNS: &str = "v.id, v.visited_on, v.recorded_at, v.received_at, v.household_id,
    h.head_name, h.address, g.name AS grid_name, vil.name AS village_name,
    v.member_id, m.name AS member_name, v.body";

/// The snake_case word serde gives a unit enum (as stored in the visit JSON).
fn word<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    Ok(serde_json::to_string(v)?.trim_matches('"').to_string())
}

/// A filter checked against the caller's subtree, as SQL.
#[derive(Clone, Debug)]
pub struct LogQuery {
    /// Conditions on [`LOG_FROM`], joined with AND; their parameters are
    /// numbered in the order of `params`.
    conditions: Vec<String>,
    params: Params,
    /// Which database the text is for.
    dialect: Dialect,
    /// One member's or one household's visits: their own indexes find them fastest.
    narrow: bool,
    /// The text search reads the member's name.
    needs_member: bool,
    /// A condition reads the household (`h.`) or its grid (`g.`).
    needs_household: bool,
    /// PostgreSQL's text search through `visits_search_keys` (migration 0005):
    /// pages are read from the latest months first.
    keyed_text: bool,
    /// The matching visits are found first (a text search on either database)
    /// and then put in order, instead of walking every visit newest first.
    matched_first: bool,
    /// The unit is a village or a grid: a small share of the visits under the
    /// top, so a page of it reads its own matches (see [`LogQuery::rows_sql_of`])
    /// however many there are; walking the dates found a village's page only
    /// after passing the other villages' visits (150 ms for its first page).
    small_unit: bool,
    /// The filter names only a unit, dates and a section state: the count is a
    /// sum of that unit's daily tallies (`visit_days`) instead of a count of its visits.
    tally: Option<Tally>,
}

/// Visits under a unit (`$1` its id) between two days (`$2`, `$3`), summed from its
/// daily tallies; the dashboard and the log's total share it.
pub const VISITS_IN_PERIOD: &str = "SELECT CAST(COALESCE(SUM(visits), 0) AS BIGINT) FROM visit_days
     WHERE unit_id = $1 AND day BETWEEN $2 AND $3";

/// A unit and a period whose visits [`LogQuery::count`] sums from `visit_days`.
#[derive(Clone, Debug)]
struct Tally {
    /// The `visit_days` column summed: `visits`, or the visits in one section
    /// state (`s<bit>`), or with any section in one state (`any<state>`), as
    /// migration 0004 keeps them.
    column: String,
    unit_id: String,
    from: String,
    to: String,
}

impl Tally {
    fn sql(&self) -> String {
        VISITS_IN_PERIOD.replacen("SUM(visits)", &format!("SUM({})", self.column), 1)
    }
}

impl LogQuery {
    /// Checks a filter: its unit, member and household must be in the subtree
    /// (404 otherwise), dates in order and `section` only with `state` (400).
    pub async fn new(
        conn: &mut Conn,
        subtree: &Subtree,
        filter: &VisitFilter,
    ) -> Result<LogQuery, AppError> {
        let dialect = crate::store::dialect_of(conn);
        let mut conditions = Vec::new();
        let mut p = Params::default();
        let (unit_id, under) = match filter.unit_id {
            Some(id) => (id.to_string(), Subtree { path: super::units::unit(conn, subtree, id).await?.path }),
            None => (subtree.unit_id().to_string(), subtree.clone()),
        };
        let path = under.path.clone();
        let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        // Text of two characters or more on PostgreSQL: the scope is one of the
        // search keys (an '@' unit id), so no household or grid is read to count.
        let keyed_text = dialect == Dialect::Postgres && q.is_some_and(|q| q.chars().count() >= 2);
        // SQLite's text search reads the visit's own grid path (migration 0005),
        // with no household or grid joined for the scope.
        let sqlite_text = dialect == Dialect::Sqlite && q.is_some();
        // Bound only when read: PostgreSQL refuses a parameter it cannot type.
        let (lo, hi) = if keyed_text {
            (String::new(), String::new())
        } else {
            (p.bind(under.lo()), p.bind(under.hi()))
        };
        if sqlite_text {
            conditions.push(format!("v.unit_path >= {lo} AND v.unit_path < {hi}"));
        } else if !keyed_text {
            conditions.push(format!("g.path >= {lo} AND g.path < {hi}"));
        }
        if let Some(member) = filter.member_id {
            super::accounts::account(conn, subtree, member).await?;
            conditions.push(format!("v.member_id = {}", p.bind(member.to_string())));
        }
        if let Some(household) = filter.household_id {
            if !super::households::in_subtree(conn, subtree, household).await? {
                return Err(AppError::not_found());
            }
            conditions.push(format!("v.household_id = {}", p.bind(household.to_string())));
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(AppError::bad_request("开始日期不能晚于结束日期"));
            }
        }
        if let Some(from) = filter.from {
            conditions.push(format!("v.visited_on >= {}", p.bind(from.to_string())));
        }
        if let Some(to) = filter.to {
            conditions.push(format!("v.visited_on <= {}", p.bind(to.to_string())));
        }
        // Sections and text are read from columns taken from the visit's JSON
        // when it was written (migrations 0003), not from every visit's JSON.
        let mask = match (filter.section, filter.state) {
            (Some(_), None) => {
                return Err(AppError::bad_request("按事项筛选时请同时选择状态"));
            }
            (Some(section), Some(state)) => Some((
                state.bit(section),
                format!("s{}", state.bit(section).trailing_zeros()),
            )),
            (None, Some(state)) => Some((
                SectionKind::ALL.iter().map(|k| state.bit(*k)).sum(),
                format!("any{}", state.index()),
            )),
            (None, None) => None,
        };
        if let Some((mask, _)) = &mask {
            conditions.push(format!("(v.section_bits & {}) <> 0", p.bind_int(i64::from(*mask))));
        }
        if let Some(group) = filter.group {
            // The household's groups are a JSON array of words: the quoted word is in it.
            let quoted = like_pattern(&format!("\"{}\"", word(&group)?));
            conditions.push(format!("h.special_groups LIKE {} ESCAPE '\\'", p.bind(quoted)));
        }
        if let Some(q) = q {
            if q.chars().count() > MAX_Q_CHARS {
                return Err(AppError::bad_request(format!(
                    "搜索内容最多 {MAX_Q_CHARS} 个字"
                )));
            }
            let pattern = like_pattern(q);
            if keyed_text {
                // The only top unit of the database holds every visit: asking the
                // index for its key too only slows a county-wide search (its
                // posting list is every visit).
                let top = path.matches('/').count() == 2;
                let whole = top
                    && sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM units WHERE parent_id IS NULL")
                        .fetch_one(&mut *conn)
                        .await?
                        == 1;
                conditions.push(keyed_text_condition(&mut p, q, (!whole).then_some(unit_id.as_str())));
            } else if dialect == Dialect::Postgres {
                // One character (two or more take the key index above): names are
                // looked up first (a few households and accounts), so a rare name
                // is not looked for by reading every visit under the unit.
                let like = p.bind(pattern);
                conditions.push(format!(
                    "(v.household_id = ANY(ARRAY(SELECT id FROM households
                                                 WHERE head_name LIKE {like} ESCAPE '\\'
                                                    OR address LIKE {like} ESCAPE '\\'))
                      OR v.member_id = ANY(ARRAY(SELECT id FROM members
                                                 WHERE name LIKE {like} ESCAPE '\\'))
                      OR v.search_text LIKE {like} ESCAPE '\\')"
                ));
            } else {
                let county_wide = path.matches('/').count() == 2;
                conditions.push(sqlite_text_condition(&mut p, q, (&lo, &hi), county_wide));
            }
        }
        let narrow = filter.member_id.is_some() || filter.household_id.is_some();
        let needs_member = conditions.iter().any(|c| c.contains("m.name"));
        let needs_household = (!keyed_text && !sqlite_text) || filter.group.is_some();
        let has_q = q.is_some();
        // Dates are ISO text, so these bounds hold every day there is.
        let tally = (!narrow && filter.group.is_none() && !has_q).then(|| Tally {
            column: mask.map_or_else(|| "visits".to_string(), |(_, column)| column),
            unit_id,
            from: filter.from.map_or_else(|| "0000-00-00".into(), |d| d.to_string()),
            to: filter.to.map_or_else(|| "9999-99-99".into(), |d| d.to_string()),
        });
        Ok(LogQuery {
            conditions,
            params: p,
            dialect,
            narrow,
            needs_member,
            needs_household,
            keyed_text,
            matched_first: keyed_text || sqlite_text,
            small_unit: under.depth() >= 3,
            tally,
        })
    }

    fn where_sql(&self) -> String {
        self.window_sql(None)
    }

    /// The conditions, with a keyed text search cut to the visits dated on or
    /// after the first day of `since` (a month) when given.
    fn window_sql(&self, since: Option<NaiveDate>) -> String {
        let sql = self.conditions.join("\n AND ");
        // The keys are made here from a date (digits, '#' and '-'), never from input.
        let keys = since.map_or_else(String::new, |month| {
            let keys: Vec<String> = month_keys_since(month)
                .iter()
                .map(|k| format!("'{k}'"))
                .collect();
            format!("AND {SEARCH_KEYS} && ARRAY[{}]", keys.join(","))
        });
        sql.replace(WINDOW_KEYS, &keys)
    }

    /// The tables the conditions read (fewer joins: a count can stay on covering indexes).
    fn filter_from(&self) -> String {
        let mut from = if self.needs_household {
            FILTER_FROM.to_string()
        } else {
            "visits v".to_string()
        };
        if self.needs_member {
            from.push_str("\n    JOIN members m ON m.id = v.member_id");
        }
        from
    }

    /// How many visits match, at most `cap` + 1, and the values to bind; `true`
    /// when the count is exact whatever its size (then it is never capped).
    ///
    /// A filter of a unit, dates and a section state sums the unit's daily
    /// tallies (exact, whatever the number). Any other filter counts matching rows but stops after
    /// `cap` + 1: a county's million visits are not all read to say "more than
    /// 10,000" (the caller answers `total_capped`).
    pub fn count(&self, cap: u64) -> (String, AnyArguments<'static>, bool) {
        match &self.tally {
            Some(t) => (
                t.sql(),
                arguments([&t.unit_id, &t.from, &t.to].map(|v| Param::Text(v.clone())).iter()),
                true,
            ),
            None => (
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE {} LIMIT {}) AS matched",
                    self.filter_from(),
                    self.where_sql(),
                    cap.saturating_add(1)
                ),
                self.arguments(),
                false,
            ),
        }
    }

    /// The matching rows, newest first, `limit`/`offset` applied when given.
    ///
    /// The ids are put in order first, on narrow rows (`page`, read from the
    /// `visits_day` index backwards or sorted), and only then is each visit's body
    /// read by id: a sort never carries bodies. `LIMIT` keeps the ordered subquery
    /// from being flattened, `CROSS JOIN` keeps it the outer loop, so rows come out
    /// in its order.
    ///
    /// A page of a broad filter walks `visits_day` newest first and stops once it
    /// has the page (a sort of every match took seconds at a million visits); one
    /// member's or household's visits, and whole downloads, are left to the planner.
    pub fn rows_sql(&self, page: Option<(u32, u32)>) -> String {
        self.rows_sql_since(page, None)
    }

    /// The months a page of a keyed text search asks for, newest first, each
    /// taking in the ones before: the page is read from the first window holding
    /// all of it. Empty for any other filter, which [`rows_sql`](Self::rows_sql)
    /// reads at once, and when `total`, how many visits match (at most the cap +
    /// 1), is at most `windowless` (reading them all for the page costs little).
    pub fn page_windows(&self, today: NaiveDate, total: u64, windowless: u64) -> Vec<NaiveDate> {
        if !self.keyed_text || total <= windowless {
            return Vec::new();
        }
        let this_month = today.with_day(1).unwrap_or(today);
        WINDOW_MONTHS
            .iter()
            .filter_map(|back| this_month.checked_sub_months(chrono::Months::new(*back)))
            .collect()
    }

    /// One page (`limit`, `offset`) of the matching visits, newest first. A text
    /// search with many matches is read from the latest months first (see
    /// [`page_windows`](Self::page_windows)): the first window that holds the
    /// whole page is the page (every visit outside it is older), so not every
    /// match is read and sorted; the last read takes every match.
    pub async fn page(
        &self,
        conn: &mut Conn,
        (limit, offset): (u32, u32),
        today: NaiveDate,
        total: u64,
        windowless: u64,
    ) -> Result<Vec<RawLogRow>, AppError> {
        for since in self.page_windows(today, total, windowless) {
            let rows: Vec<RawLogRow> = sqlx::query_as_with(
                &self.rows_sql_since(Some((limit, offset)), Some(since)),
                self.arguments(),
            )
            .fetch_all(&mut *conn)
            .await?;
            if rows.len() == limit as usize {
                return Ok(rows);
            }
        }
        let few = total <= windowless || self.small_unit;
        Ok(sqlx::query_as_with(&self.rows_sql_of(Some((limit, offset)), None, few), self.arguments())
            .fetch_all(&mut *conn)
            .await?)
    }

    /// The page's rows from the visits dated on or after the month `since`
    /// (all of them when `None`); see [`page_windows`](Self::page_windows).
    pub fn rows_sql_since(&self, page: Option<(u32, u32)>, since: Option<NaiveDate>) -> String {
        self.rows_sql_of(page, since, false)
    }

    /// [`rows_sql_since`](Self::rows_sql_since); `few` says the matches are
    /// few (at most [`WINDOWLESS_MATCHES`], or those of a village or grid): a
    /// page of a broad filter then reads them from the unit's households (its
    /// grids, their households, each one's visits) and sorts them, instead of
    /// walking `visits_day` until the page is full, which for a village's rare
    /// match (90 visits of a special group among a county's million) read
    /// nearly every visit: 4 s on SQLite.
    pub fn rows_sql_of(&self, page: Option<(u32, u32)>, since: Option<NaiveDate>, few: bool) -> String {
        let limit = match page {
            Some((limit, offset)) => format!("LIMIT {limit} OFFSET {offset}"),
            None => self.dialect.every_row().to_string(),
        };
        let broad = page.is_some() && !self.narrow && !self.matched_first;
        let from = if broad && few && self.needs_household && !self.needs_member {
            // SQLite joins in the order written; the joins' conditions are in WHERE.
            "units g CROSS JOIN households h CROSS JOIN visits v".to_string()
        } else if broad {
            self.filter_from()
                .replacen("visits v", &format!("visits v {}", self.dialect.index_hint("visits_day")), 1)
        } else {
            self.filter_from()
        };
        let joined = if from.starts_with("units g") { "h.grid_id = g.id AND v.household_id = h.id\n AND " } else { "" };
        let ordered = if self.matched_first {
            // Every match (of the window) from the text's own index, then sorted.
            // Without the fence the planner walks `visits_day` newest first and
            // works out each visit's keys as it goes (about 0.3 ms a visit): 13 s
            // for a name with a thousand visits in a county.
            format!(
                "WITH matched AS MATERIALIZED (
                     SELECT v.id, v.visited_on, v.recorded_at FROM {from} WHERE {})
                 SELECT v.id AS vid FROM matched v ORDER BY {LOG_ORDER} {limit}",
                self.window_sql(since)
            )
        } else {
            format!(
                "SELECT v.id AS vid FROM {from} WHERE {joined}{} ORDER BY {LOG_ORDER} {limit}",
                self.window_sql(since)
            )
        };
        // SQLite joins in the order written (`CROSS JOIN`); PostgreSQL reads the
        // conditions in WHERE as plain joins.
        format!(
            "SELECT {LOG_COLUMNS}
             FROM ({ordered}) AS page
             CROSS JOIN visits v
             CROSS JOIN households h
             CROSS JOIN units g
             CROSS JOIN units vil
             CROSS JOIN members m
             WHERE v.id = page.vid AND h.id = v.household_id AND g.id = h.grid_id
               AND vil.id = g.parent_id AND m.id = v.member_id{}",
            // The fence leaves the planner free to join in another order (a hash
            // join of the page came out unsorted): sort the page's rows again.
            if self.matched_first {
                format!("\n             ORDER BY {LOG_ORDER}")
            } else {
                String::new()
            }
        )
    }

    /// The bound values, in order.
    pub fn arguments(&self) -> AnyArguments<'static> {
        arguments(self.params.values.iter())
    }
}

/// The keys of a visit in `visits_search_keys` (PostgreSQL, migration 0005).
const SEARCH_KEYS: &str =
    "daohu_search_keys(v.search_text, v.unit_path, v.visited_on, v.household_id, v.member_id)";
/// Where a page's month window goes in a keyed text condition.
const WINDOW_KEYS: &str = "/*window-keys*/";
/// A keyed search matching at most this many visits reads them all for a page
/// (each match's row is read to put them in order); more are read month by
/// month. Another broad filter matching at most this many reads them from the
/// unit's households and sorts them ([`LogQuery::rows_sql_of`]).
pub const WINDOWLESS_MATCHES: u64 = 2_000;
/// How many months before this one each window of a page starts (then all).
const WINDOW_MONTHS: [u32; 6] = [0, 1, 3, 6, 12, 24];

/// The month keys of the visits dated in `month` or later: the rest of its year
/// month by month, then the years after it (a century: a phone's clock may be
/// wrong, and such a visit still sorts first).
fn month_keys_since(month: NaiveDate) -> Vec<String> {
    let mut keys: Vec<String> = (month.month()..=12)
        .map(|m| format!("#{:04}-{m:02}", month.year()))
        .collect();
    keys.extend((month.year() + 1..=month.year() + 100).map(|y| format!("#{y:04}")));
    keys
}

/// A PostgreSQL array literal of `items` (each quoted, `\` and `"` escaped), bound
/// as text and cast: the Any driver binds no arrays.
fn array_literal<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items
        .into_iter()
        .map(|i| format!("\"{}\"", i.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// The pieces of `q` the key index holds whose presence in a visit's text means
/// `q` is in it: `q` itself when it is two or three characters (the index holds
/// every such piece: exact), else its three-character pieces (then `LIKE` checks).
fn text_pieces(q: &str) -> (Vec<String>, bool) {
    let chars: Vec<char> = q.chars().collect();
    if chars.len() <= 3 {
        return (vec![q.to_string()], true);
    }
    let mut pieces: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    pieces.sort();
    pieces.dedup();
    (pieces, false)
}

/// The text search of two characters or more on PostgreSQL, as one condition on
/// the key index (migration 0005) and its values: the visit's own text, or a
/// household whose head or doorplate matches, or an account whose name does; all
/// under the unit `unit_id`. Every key is exact, so a count reads no visit row
/// (only a search of four characters or more checks the text with `LIKE`).
fn keyed_text_condition(p: &mut Params, q: &str, unit_id: Option<&str>) -> String {
    let scope = unit_id.map(|id| format!("@{id}"));
    let (pieces, exact) = text_pieces(q);
    let mut text_keys: Vec<&str> = scope.iter().map(String::as_str).collect();
    text_keys.extend(pieces.iter().map(String::as_str));
    let keys = p.bind(array_literal(text_keys));
    let like = p.bind(like_pattern(q));
    let check = if exact {
        String::new()
    } else {
        format!("AND v.search_text LIKE {like} ESCAPE '\\'")
    };
    // None: the whole database (no unit key to ask for).
    let in_scope = match &scope {
        Some(scope) => format!("{SEARCH_KEYS} @> CAST({} AS TEXT[]) AND", p.bind(array_literal([scope.as_str()]))),
        None => String::new(),
    };
    let text = p.bind(q.to_string());
    format!(
        "(({SEARCH_KEYS} @> CAST({keys} AS TEXT[]) {check} {WINDOW_KEYS})
          OR ({in_scope}
              {SEARCH_KEYS} && ARRAY(
                  SELECT '%' || id FROM households
                  WHERE daohu_bigrams(head_name || chr(10) || address)
                            @> daohu_bigrams(CAST({text} AS TEXT))
                    AND (head_name LIKE {like} ESCAPE '\\' OR address LIKE {like} ESCAPE '\\')
                  UNION ALL
                  SELECT '$' || id FROM members
                  WHERE daohu_bigrams(name) @> daohu_bigrams(CAST({text} AS TEXT))
                    AND name LIKE {like} ESCAPE '\\')
              {WINDOW_KEYS}))"
    )
}

/// A text search on SQLite (migration 0013) as one condition: the visit's own
/// text, or its household's head or doorplate, or its account's name, holds `q`.
///
/// In a township or village the scope's rows of `visit_texts` are read, one
/// range of small rows, each matched with `LIKE` (any length of `q`). Across a
/// county, text of three characters or more is looked up in the trigram index
/// instead, and the households and accounts by name; the scope (`lo`, `hi`,
/// placeholders already bound) is checked on each visit by the caller's condition.
fn sqlite_text_condition(p: &mut Params, q: &str, (lo, hi): (&str, &str), county_wide: bool) -> String {
    let like = p.bind(like_pattern(q));
    let households = format!(
        "SELECT hs.id FROM households hs JOIN units gs ON gs.id = hs.grid_id
         WHERE gs.path >= {lo} AND gs.path < {hi}
           AND (hs.head_name LIKE {like} ESCAPE '\\' OR hs.address LIKE {like} ESCAPE '\\')"
    );
    let members = format!("SELECT ms.id FROM members ms WHERE ms.name LIKE {like} ESCAPE '\\'");
    if county_wide && q.chars().count() >= 3 {
        let phrase = p.bind(fts_phrase(q));
        format!(
            "v.id IN (SELECT t.visit_id FROM visit_search s CROSS JOIN visit_texts t ON t.n = s.rowid
                      WHERE visit_search MATCH {phrase}
                      UNION ALL
                      SELECT vh.id FROM visits vh WHERE vh.household_id IN ({households})
                      UNION ALL
                      SELECT vm.id FROM visits vm WHERE vm.member_id IN ({members}))"
        )
    } else {
        format!(
            "v.id IN (SELECT t.visit_id FROM visit_texts t
                      WHERE t.unit_path >= {lo} AND t.unit_path < {hi}
                        AND (t.text LIKE {like} ESCAPE '\\'
                             OR t.household_id IN ({households})
                             OR t.member_id IN ({members})))"
        )
    }
}

/// `q` as one FTS5 phrase: quoted, its quotes doubled, so no character of it is
/// read as query syntax. The trigram tokenizer matches it as a substring.
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// The values to bind, in order.
fn arguments<'a>(values: impl Iterator<Item = &'a Param>) -> AnyArguments<'static> {
    use sqlx::Arguments;
    let mut args = AnyArguments::default();
    for value in values {
        // Text and integers always encode.
        let _ = match value {
            Param::Text(t) => args.add(t.clone()),
            Param::Int(i) => args.add(*i),
        };
    }
    args
}

/// A visit as read for the log.
#[derive(sqlx::FromRow)]
pub struct RawLogRow {
    pub id: String,
    pub visited_on: String,
    pub recorded_at: String,
    pub received_at: String,
    pub household_id: String,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    pub member_id: String,
    pub member_name: String,
    pub body: String,
}

/// One visit by id inside the subtree, with its stored body; 404 when unknown or outside.
pub async fn one(conn: &mut Conn, subtree: &Subtree, id: Uuid) -> Result<RawLogRow, AppError> {
    let row: Option<RawLogRow> = sqlx::query_as(&format!(
        "SELECT {LOG_COLUMNS} FROM {LOG_FROM} WHERE v.id = $1 AND g.path >= $2 AND g.path < $3"
    ))
    .bind(id.to_string())
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_optional(conn)
    .await?;
    row.ok_or_else(AppError::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(like_pattern("张_三%"), "%张\\_三\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }

    #[test]
    fn month_keys_take_in_the_rest_of_the_year_and_every_later_one() {
        let keys = month_keys_since(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(keys[..3], ["#2026-10", "#2026-11", "#2026-12"]);
        assert_eq!(keys[3], "#2027");
        assert_eq!(keys.last().map(String::as_str), Some("#2126"));
        assert_eq!(keys.len(), 3 + 100);
        // January: all twelve months of its year.
        let keys = month_keys_since(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(keys[11], "#2026-12");
        assert_eq!(keys[12], "#2027");
    }

    #[test]
    fn text_pieces_are_exact_up_to_three_characters() {
        assert_eq!(text_pieces("饮水"), (vec!["饮水".to_string()], true));
        assert_eq!(text_pieces("残疾证"), (vec!["残疾证".to_string()], true));
        // Longer: its distinct three-character pieces, checked again with LIKE.
        let (pieces, exact) = text_pieces("青山村青山村");
        assert!(!exact);
        assert_eq!(pieces, ["山村青", "村青山", "青山村"]);
    }

    #[test]
    fn fts_phrases_are_one_quoted_string() {
        assert_eq!(fts_phrase("残疾证"), "\"残疾证\"");
        // Quotes and query words stay text.
        assert_eq!(fts_phrase("a\" OR b"), "\"a\"\" OR b\"");
    }

    #[test]
    fn array_literals_quote_every_item() {
        assert_eq!(array_literal(["a", "b c"]), r#"{"a","b c"}"#);
        assert_eq!(array_literal([r#"x"y\z"#, "{,}"]), r#"{"x\"y\\z","{,}"}"#);
    }
}
