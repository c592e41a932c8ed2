//! The visit log, the dashboard and the meeting sheet, over a generated data set of
//! both seeded villages.

mod common;
mod report_data;

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Duration, NaiveDate};
use common::TestApp;
use daohu_domain::{
    Dashboard, MeetingSheet, SectionKind, SectionState, SpecialGroup, VisitDetail, VisitLogPage,
};
use daohu_server::db::ts;
use daohu_server::seed::{
    county_id, grid_id, household_id, member_id, second_village_id, township_id, village_id,
};
use report_data::{houses, log_order, member_name, state_of, House, Stored};
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

const FIRST: (i32, u32, u32) = (2026, 1, 5);
const DAYS: u64 = 70;

struct World {
    app: TestApp,
    stored: Vec<Stored>,
    houses: HashMap<Uuid, House>,
}

async fn world(count: usize) -> World {
    let app = TestApp::new().await;
    // Literal % and _ in names, for the escaping of q.
    sqlx::query("UPDATE households SET head_name = '刘_%特' WHERE id = $1")
        .bind(household_id(13).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    let visits = report_data::generate(count, d(FIRST.0, FIRST.1, FIRST.2), DAYS, 7);
    let stored = report_data::store(&app, &visits).await;
    let houses = houses(&app.state.pool).await;
    World {
        app,
        stored,
        houses,
    }
}

impl World {
    fn house(&self, s: &Stored) -> &House {
        &self.houses[&s.visit.household_id]
    }

    /// Ids the log should answer, newest first.
    fn expect(&self, keep: impl Fn(&Stored, &House) -> bool) -> Vec<Uuid> {
        let mut list: Vec<&Stored> = self
            .stored
            .iter()
            .filter(|s| keep(s, self.house(s)))
            .collect();
        log_order(&mut list);
        list.iter().map(|s| s.visit.id).collect()
    }

    async fn log(&self, token: &str, query: &str) -> VisitLogPage {
        let answer = self
            .app
            .call(Method::GET, &format!("/api/visits?{query}"), Some(token), None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {:?}", answer.json());
        serde_json::from_slice(&answer.body).unwrap()
    }

    /// Every page of a query, 37 rows at a time.
    async fn all(&self, token: &str, query: &str) -> (Vec<Uuid>, u64) {
        let mut ids = Vec::new();
        let mut total = None;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let page = self
                .log(token, &format!("{query}{sep}limit=37&offset={}", ids.len()))
                .await;
            assert!(page.rows.len() <= 37);
            let t = *total.get_or_insert(page.total);
            assert_eq!(t, page.total, "total stays the same across pages");
            if page.rows.is_empty() {
                break;
            }
            ids.extend(page.rows.iter().map(|r| r.id));
        }
        (ids, total.unwrap_or(0))
    }
}

fn any_state(s: &Stored, state: SectionState) -> bool {
    SectionKind::ALL
        .iter()
        .any(|k| state_of(&s.visit, *k) == Some(state))
}

fn contains_text(s: &Stored, h: &House, q: &str) -> bool {
    h.head.contains(q)
        || h.address.contains(q)
        || member_name(report_data::member_for(h.n)).contains(q)
        || s.visit.summary.contains(q)
        || s.visit.sections.iter().any(|x| x.notes.contains(q))
        || s.visit.problems.iter().any(|p| p.description.contains(q) || p.action.contains(q))
}

#[tokio::test]
async fn visit_log_filters_return_exactly_the_matching_visits() {
    let w = world(400).await;
    let sun = w.app.session(19).await; // township: both villages
    let zhao = w.app.session(9).await; // 青山村 only
    let wu = w.app.session(29).await; // county

    let lisi = member_id(2);
    let h5 = household_id(5);
    let (from, to) = (d(2026, 1, 20), d(2026, 2, 10));
    #[allow(clippy::type_complexity)]
    let cases: Vec<(String, Box<dyn Fn(&Stored, &House) -> bool>)> = vec![
        (String::new(), Box::new(|_, _| true)),
        (format!("unit_id={}", county_id()), Box::new(|_, _| true)),
        (format!("unit_id={}", township_id()), Box::new(|_, _| true)),
        (format!("unit_id={}", village_id()), Box::new(|_, h| h.village() == 1)),
        (format!("unit_id={}", second_village_id()), Box::new(|_, h| h.village() == 2)),
        (format!("unit_id={}", grid_id(2)), Box::new(|_, h| h.grid == 2)),
        (format!("member_id={lisi}"), Box::new(move |s, _| s.visit.member_id == lisi)),
        (format!("household_id={h5}"), Box::new(move |s, _| s.visit.household_id == h5)),
        (format!("from={from}"), Box::new(move |s, _| s.visit.visited_on >= from)),
        (format!("to={to}"), Box::new(move |s, _| s.visit.visited_on <= to)),
        (
            format!("from={from}&to={to}"),
            Box::new(move |s, _| s.visit.visited_on >= from && s.visit.visited_on <= to),
        ),
        (format!("from={from}&to={from}"), Box::new(move |s, _| s.visit.visited_on == from)),
        (
            "section=policy_delivered&state=next_time".into(),
            Box::new(|s, _| {
                state_of(&s.visit, SectionKind::PolicyDelivered) == Some(SectionState::NextTime)
            }),
        ),
        (
            "section=member_contact&state=done".into(),
            Box::new(|s, _| state_of(&s.visit, SectionKind::MemberContact) == Some(SectionState::Done)),
        ),
        ("state=not_applicable".into(), Box::new(|s, _| any_state(s, SectionState::NotApplicable))),
        (
            "group=elderly_alone".into(),
            Box::new(|_, h| h.groups.contains(&SpecialGroup::ElderlyAlone)),
        ),
        (
            "group=subsistence_allowance".into(),
            Box::new(|_, h| h.groups.contains(&SpecialGroup::SubsistenceAllowance)),
        ),
        // q: head name, doorplate, member, summary, notes; % and _ are literal
        ("q=%E5%88%98".into(), Box::new(|s, h| contains_text(s, h, "刘"))),
        (
            "q=%E9%9D%92%E5%B1%B1%E6%9D%91%E4%BA%8C%E7%BB%841".into(),
            Box::new(|s, h| contains_text(s, h, "青山村二组1")),
        ),
        ("q=%E7%8E%8B%E7%BD%91%E6%A0%BC%E9%95%BF".into(), Box::new(|s, h| contains_text(s, h, "王网格长"))),
        ("q=%E9%A5%AE%E6%B0%B4".into(), Box::new(|s, h| contains_text(s, h, "饮水"))),
        ("q=%E5%B1%8B%E9%A1%B6".into(), Box::new(|s, h| contains_text(s, h, "屋顶"))),
        ("q=100%25".into(), Box::new(|s, h| contains_text(s, h, "100%"))),
        ("q=%25".into(), Box::new(|s, h| contains_text(s, h, "%"))),
        ("q=_".into(), Box::new(|s, h| contains_text(s, h, "_"))),
        ("q=a_b".into(), Box::new(|s, h| contains_text(s, h, "a_b"))),
        ("q=axb".into(), Box::new(|_, _| false)),
        // A problem's description and what was done; three characters or more
        // county-wide take SQLite's trigram index, quotes and FTS words stay text.
        ("q=%E9%97%AE%E9%A2%981".into(), Box::new(|s, h| contains_text(s, h, "问题1"))),
        ("q=%E9%97%AE%E9%A2%98".into(), Box::new(|s, h| contains_text(s, h, "问题"))),
        ("q=%E5%B8%AE%E5%BF%99%E8%A7%A3%E5%86%B3".into(), Box::new(|s, h| contains_text(s, h, "帮忙解决"))),
        ("q=%22a%22%20OR%20b*".into(), Box::new(|s, h| contains_text(s, h, "\"a\" OR b*"))),
        (
            format!("unit_id={}&state=next_time&from={from}&q=%E5%AE%B6", village_id()),
            Box::new(move |s, h| {
                h.village() == 1
                    && any_state(s, SectionState::NextTime)
                    && s.visit.visited_on >= from
                    && contains_text(s, h, "家")
            }),
        ),
    ];
    // Twice: as a page reads few matches (at most WINDOWLESS_MATCHES: from the
    // unit's households, then sorted), then as it reads many (newest first
    // through the date index until the page is full).
    let mut w = w;
    for walk in [false, true] {
        if walk {
            let World { app, stored, houses } = w;
            w = World { app: app.with_settings(|s| s.log_window_min = 0), stored, houses };
        }
        for (query, keep) in &cases {
            let expected = w.expect(|s, h| keep(s, h));
            let (ids, total) = w.all(&wu, query).await;
            assert_eq!(ids, expected, "county, {query}, walk {walk}");
            assert_eq!(total as usize, expected.len(), "county total, {query}, walk {walk}");
            // The village coordinator gets the same, limited to 青山村.
            let expected_village = w.expect(|s, h| h.village() == 1 && keep(s, h));
            let outside = query.contains(&second_village_id().to_string())
                || query.contains(&township_id().to_string())
                || query.contains(&county_id().to_string());
            if !outside {
                let (ids, total) = w.all(&zhao, query).await;
                assert_eq!(ids, expected_village, "village, {query}, walk {walk}");
                assert_eq!(total as usize, expected_village.len());
            }
        }
    }
    // A non-empty sanity check of the data set: every case above means something.
    assert!(w.expect(|_, h| h.village() == 2).len() > 20);
    assert!(!w.expect(|s, h| contains_text(s, h, "%")).is_empty());

    // The township sees both villages too; default limit 50, max 500.
    assert_eq!(w.all(&sun, "").await.0, w.expect(|_, _| true));
    let page = w.log(&wu, "").await;
    assert_eq!(page.rows.len(), 50);
    assert_eq!(page.total as usize, w.stored.len());
    let page = w.log(&wu, "limit=100000").await;
    assert_eq!(page.rows.len(), 400);
    let page = w.log(&wu, "limit=5&offset=398").await;
    assert_eq!(page.rows.len(), 2);

    // Row contents: names, flags, counts.
    let page = w.log(&sun, "limit=500").await;
    let by_id: HashMap<Uuid, &Stored> = w.stored.iter().map(|s| (s.visit.id, s)).collect();
    for row in &page.rows {
        let s = by_id[&row.id];
        let h = w.house(s);
        assert_eq!(row.head_name, h.head);
        assert_eq!(row.address, h.address);
        assert_eq!(row.village_name, if h.village() == 1 { "青山村" } else { "绿水村" });
        assert_eq!(row.member_name, member_name(report_data::member_for(h.n)));
        assert_eq!(row.visited_on, s.visit.visited_on);
        assert_eq!(row.received_at, s.received_at);
        let skew = (s.received_at - s.visit.recorded_at).num_seconds().abs();
        assert_eq!(row.clock_flag, skew > 24 * 3600, "{skew}");
        assert_eq!(row.problem_count as usize, s.visit.problems.len());
        assert_eq!(row.escalated_count as usize, s.visit.escalated_count());
        assert_eq!(row.summary, s.visit.summary);
        let states: Vec<_> = s.visit.sections.iter().map(|x| (x.kind, x.state)).collect();
        assert_eq!(row.sections, states);
    }
    assert!(page.rows.iter().any(|r| r.clock_flag) && page.rows.iter().any(|r| !r.clock_flag));

    // The village coordinator never sees 绿水村.
    let (ids, _) = w.all(&zhao, "").await;
    let green: HashSet<Uuid> = w.expect(|_, h| h.village() == 2).into_iter().collect();
    assert!(ids.iter().all(|id| !green.contains(id)));
    let answer = w
        .app
        .call(Method::GET, "/api/visits?q=%E7%BB%BF%E6%B0%B4&limit=500", Some(&zhao), None)
        .await;
    assert_eq!(answer.json()["total"], 0);
    assert!(!String::from_utf8_lossy(&answer.body).contains("绿水"));
    // Another village's unit, member or household: 404, like an unknown id.
    for query in [
        format!("unit_id={}", second_village_id()),
        format!("unit_id={}", grid_id(4)),
        format!("unit_id={}", township_id()),
        format!("member_id={}", member_id(21)),
        format!("household_id={}", household_id(60)),
        format!("household_id={}", Uuid::from_u128(77)),
    ] {
        let answer = w
            .app
            .call(Method::GET, &format!("/api/visits?{query}"), Some(&zhao), None)
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{query}");
        assert_eq!(answer.json()["error"], "not_found");
    }
    // One visit in full; another village's visit is 404.
    let ours = w.stored.iter().find(|s| w.house(s).village() == 1).unwrap();
    let theirs = w.stored.iter().find(|s| w.house(s).village() == 2).unwrap();
    let answer = w
        .app
        .call(Method::GET, &format!("/api/visits/{}", ours.visit.id), Some(&zhao), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let detail: VisitDetail = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(detail.visit, ours.visit);
    assert_eq!(detail.row.id, ours.visit.id);
    for path in [
        format!("/api/visits/{}", theirs.visit.id),
        format!("/api/visits/{}", Uuid::from_u128(5)),
        "/api/visits/not-an-id".to_string(),
    ] {
        let answer = w.app.call(Method::GET, &path, Some(&zhao), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    let answer = w
        .app
        .call(Method::GET, &format!("/api/visits/{}", theirs.visit.id), Some(&sun), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);

    // Members, grid leaders and volunteers: 403, whatever they ask.
    for m in [1, 2, 3, 5, 21] {
        let token = w.app.session(m).await;
        for path in [
            "/api/visits".to_string(),
            format!("/api/visits?household_id={}", household_id(0)),
            format!("/api/visits/{}", ours.visit.id),
            "/api/dashboard".to_string(),
            "/api/meeting-sheet".to_string(),
        ] {
            let answer = w.app.call(Method::GET, &path, Some(&token), None).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{m} {path}");
        }
    }
    // Bad filters: 400.
    for query in [
        "section=policy_delivered",
        "from=2026-02-01&to=2026-01-01",
        "state=maybe",
        "from=yesterday",
        "unit_id=x",
        "colour=red",
    ] {
        let answer = w
            .app
            .call(Method::GET, &format!("/api/visits?{query}"), Some(&sun), None)
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
    }
    let long = "字".repeat(101);
    let answer = w
        .app
        .call(Method::GET, &format!("/api/visits?q={}", daohu_server::routes::exports::percent_encode(&long)), Some(&sun), None)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

/// A text search with many matches reads a page from the latest months first
/// (PostgreSQL's key index; SQLite reads it at once). With the threshold at 0 the
/// months are used for every search: visits dated over two years back, in each
/// recent month, and some years ahead (a wrong phone clock) must still come out
/// exactly as the log orders them, page after page, at every scope.
#[tokio::test]
async fn text_search_pages_read_month_by_month_are_the_same_pages() {
    let app = TestApp::new().await;
    let today = chrono::Local::now().date_naive();
    let mut visits = report_data::generate(500, today - Duration::days(800), 830, 11);
    // Ahead of today by years: they sort first.
    visits.extend(report_data::generate(6, d(today.year_ce().1 as i32 + 3, 6, 1), 40, 12));
    let stored = report_data::store(&app, &visits).await;
    let houses = houses(&app.state.pool).await;
    let app = app.with_settings(|s| s.log_window_min = 0);
    let w = World { app, stored, houses };
    let wu = w.app.session(29).await;
    let zhao = w.app.session(9).await;
    // The data reach back past the last window (24 months) and into the future.
    assert!(w.stored.iter().any(|s| s.visit.visited_on < today - Duration::days(760)));
    assert!(w.stored.iter().any(|s| s.visit.visited_on > today + Duration::days(700)));
    for q in ["饮水", "屋顶", "残疾", "青山村二组1", "王网格长", "a_b", "需要", "问题1", "当场帮忙"] {
        let query = format!("q={}", daohu_server::routes::exports::percent_encode(q));
        let expected = w.expect(|s, h| contains_text(s, h, q));
        let (ids, total) = w.all(&wu, &query).await;
        assert_eq!(ids, expected, "county, {q}");
        assert_eq!(total as usize, expected.len(), "county total, {q}");
        let expected = w.expect(|s, h| h.village() == 1 && contains_text(s, h, q));
        let (ids, _) = w.all(&zhao, &query).await;
        assert_eq!(ids, expected, "village, {q}");
        // In a grid of the other village, asked by the county.
        let expected = w.expect(|s, h| h.grid == 4 && contains_text(s, h, q));
        let (ids, _) = w.all(&wu, &format!("unit_id={}&{query}", grid_id(4))).await;
        assert_eq!(ids, expected, "grid 4, {q}");
    }
    // More than a page of 37, from every window's months.
    assert!(w.expect(|s, h| contains_text(s, h, "饮水")).len() > 37);
}

#[tokio::test]
async fn filtered_totals_stop_counting_at_the_cap() {
    let World { app, stored, houses } = world(300).await;
    // The same database, counting at most 20 matches of a filtered page.
    let app = app.with_settings(|s| s.log_count_cap = 20);
    let w = World { app, stored, houses };
    let wu = w.app.session(29).await;
    // Many matches: 20 and "capped", yet the pages hold exactly the matches, in order.
    let expected = w.expect(|s, h| contains_text(s, h, "党员"));
    assert!(expected.len() > 60, "{}", expected.len());
    let mut ids = Vec::new();
    loop {
        let page = w.log(&wu, &format!("q=%E5%85%9A%E5%91%98&limit=25&offset={}", ids.len())).await;
        assert_eq!((page.total, page.total_capped), (20, true));
        assert_eq!(page.has_more(ids.len() as u64, 25), page.rows.len() == 25);
        if page.rows.is_empty() {
            break;
        }
        ids.extend(page.rows.iter().map(|r| r.id));
    }
    assert_eq!(ids, expected);
    // Few matches: counted exactly.
    let few = w.expect(|s, _| s.visit.household_id == household_id(5));
    assert!(!few.is_empty() && few.len() <= 20);
    let q = format!("household_id={}", household_id(5));
    let page = w.log(&wu, &q).await;
    assert_eq!((page.total, page.total_capped), (few.len() as u64, false));
    let page = w.log(&wu, "q=axb").await;
    assert_eq!((page.total, page.total_capped), (0, false));
    // A unit and dates alone: the daily tallies, exact however many.
    let page = w.log(&wu, &format!("unit_id={}&from=2026-01-01", village_id())).await;
    let all = w.expect(|_, h| h.village() == 1);
    assert_eq!((page.total, page.total_capped), (all.len() as u64, false));
    assert!(all.len() > 20);
    // With a section state too: the tallies by state, exact however many.
    let done = w.expect(|s, _| any_state(s, SectionState::Done));
    let page = w.log(&wu, "state=done&limit=1").await;
    assert_eq!((page.total, page.total_capped), (done.len() as u64, false));
    assert!(done.len() > 20);
    let kept = w.expect(|s, h| {
        h.village() == 1 && state_of(&s.visit, SectionKind::MemberContact) == Some(SectionState::Done)
    });
    let page = w
        .log(&wu, &format!("unit_id={}&section=member_contact&state=done&limit=1", village_id()))
        .await;
    assert_eq!((page.total, page.total_capped), (kept.len() as u64, false));
    assert!(kept.len() > 20);
}

#[tokio::test]
async fn sqlite_only_visit_log_queries_use_indexes() {
    // These are SQLite's plans; PostgreSQL's are checked at county scale by
    // examples/scale_bench.rs. The test command's PostgreSQL pass leaves this out by name.
    assert!(daohu_server::db::test_postgres().is_none(), "SQLite only: unset DAOHU_TEST_POSTGRES");
    let app = TestApp::new().await;
    let subtree = daohu_server::scope::Subtree {
        path: format!("/{}/", county_id()),
    };
    let mut conn = app.state.pool.acquire().await.unwrap();
    let mut plan = async |filter: daohu_domain::VisitFilter, page: Option<(u32, u32)>| {
        let q = daohu_server::visit_log::LogQuery::new(&mut conn, &subtree, &filter)
            .await
            .unwrap();
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as_with(
            &format!("EXPLAIN QUERY PLAN {}", q.rows_sql(page)),
            q.arguments(),
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join(" | ")
    };
    // A page of everything: the date index walked backwards, no sort.
    let p = plan(Default::default(), Some((50, 0))).await;
    assert!(p.contains("SCAN v USING INDEX visits_day") && !p.contains("TEMP B-TREE"), "{p}");
    let p = plan(
        daohu_domain::VisitFilter {
            from: Some(d(2026, 1, 1)),
            ..Default::default()
        },
        Some((50, 0)),
    )
    .await;
    assert!(p.contains("visits_day (visited_on>?)") && !p.contains("TEMP B-TREE"), "{p}");
    // One member's or household's visits: their own index.
    let p = plan(
        daohu_domain::VisitFilter {
            member_id: Some(member_id(1)),
            ..Default::default()
        },
        Some((50, 0)),
    )
    .await;
    assert!(p.contains("visits_member (member_id=?)"), "{p}");
    let p = plan(
        daohu_domain::VisitFilter {
            household_id: Some(household_id(1)),
            ..Default::default()
        },
        None,
    )
    .await;
    assert!(p.contains("visits_household (household_id=?)"), "{p}");
    // Rows are read by primary key after the ids are ordered: bodies never sorted.
    let p = plan(Default::default(), None).await;
    assert!(p.contains("SCAN page | SEARCH v USING INDEX sqlite_autoindex_visits_1 (id=?)"), "{p}");
    // Text: the matches are found first, from the trigram index across the county
    // (three characters or more) or the scope's own text rows, and then sorted.
    let text = |q: &str, unit_id: Option<Uuid>| daohu_domain::VisitFilter {
        q: Some(q.to_string()),
        unit_id,
        ..Default::default()
    };
    let p = plan(text("残疾证", None), Some((50, 0))).await;
    assert!(p.contains("SCAN s VIRTUAL TABLE INDEX"), "{p}");
    assert!(p.contains("MATERIALIZE matched | SEARCH v USING INDEX sqlite_autoindex_visits_1 (id=?)"), "{p}");
    let p = plan(text("饮水", Some(village_id())), Some((50, 0))).await;
    assert!(p.contains("SEARCH t USING PRIMARY KEY (unit_path>? AND unit_path<?)"), "{p}");
    assert!(p.contains("MATERIALIZE matched | SEARCH v USING INDEX sqlite_autoindex_visits_1 (id=?)"), "{p}");
    // A page of a broad filter with few matches: the unit's grids, their
    // households, each one's visits, sorted; never the whole date index.
    let filter = daohu_domain::VisitFilter {
        unit_id: Some(village_id()),
        group: Some(daohu_domain::SpecialGroup::ElderlyAlone),
        ..Default::default()
    };
    let q = daohu_server::visit_log::LogQuery::new(&mut conn, &subtree, &filter).await.unwrap();
    let rows: Vec<(i64, i64, i64, String)> =
        sqlx::query_as_with(&format!("EXPLAIN QUERY PLAN {}", q.rows_sql_of(Some((50, 0)), None, true)), q.arguments())
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let p = rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join(" | ");
    assert!(p.contains("SEARCH h USING INDEX households_grid (grid_id=?)"), "{p}");
    assert!(p.contains("SEARCH v USING INDEX visits_household (household_id=?)"), "{p}");
    assert!(!p.contains("visits_day"), "{p}");
}

/// Independent figures, straight from the tables.
async fn scalar(app: &TestApp, sql: &str, binds: &[String]) -> i64 {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_one(&app.state.pool).await.unwrap()
}

/// Every grid paired with itself and each unit above it, by parent links (not paths).
const GRID_UNITS: &str = "WITH RECURSIVE up(grid, unit) AS (
     SELECT id, id FROM units WHERE kind = 'grid'
     UNION ALL SELECT up.grid, u.parent_id FROM up JOIN units u ON u.id = up.unit
               WHERE u.parent_id IS NOT NULL)";

/// A tally table's non-zero rows (`got`) equal what `expected` works out.
async fn assert_same_rows(app: &TestApp, what: &str, expected: &str, got: &str) {
    let read = |sql: String| async move {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as(&sql).fetch_all(&app.state.pool).await.unwrap();
        rows
    };
    let expected = read(format!("{GRID_UNITS} {expected} ORDER BY 1, 2")).await;
    let got = read(format!("{got} ORDER BY 1, 2")).await;
    assert!(!expected.is_empty(), "{what}");
    if got != expected {
        let missing: Vec<_> = expected.iter().filter(|r| !got.contains(r)).take(5).collect();
        let extra: Vec<_> = got.iter().filter(|r| !expected.contains(r)).take(5).collect();
        panic!("{what} differ: missing {missing:?}, extra {extra:?}");
    }
}

/// The tallies and each household's and account's latest visit are what the
/// visits say (worked out here through parent links, not paths). With `fold`, on
/// PostgreSQL the rows of changes are folded first (migration 0011), and after
/// that every key has one row.
async fn assert_tallies(app: &TestApp, fold: bool) {
    if fold && app.state.store.dialect() == daohu_server::db::Dialect::Postgres {
        let fresh = scalar(app, "SELECT COUNT(*) FROM visit_days WHERE fresh", &[]).await;
        assert!(fresh > 0, "uploads append rows of changes");
        let mut conn = app.state.pool.acquire().await.unwrap();
        let folded = daohu_server::store::upkeep::fold_tallies(&mut conn).await.unwrap();
        assert!(folded.is_some_and(|keys| keys > 0), "{folded:?}");
        for table in ["visit_days", "household_last_visits"] {
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {table} GROUP BY unit_id, day HAVING COUNT(*) > 1) AS x"
            );
            assert_eq!(scalar(app, &sql, &[]).await, 0, "{table}: one row a key after folding");
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE fresh");
            assert_eq!(scalar(app, &sql, &[]).await, 0, "{table}: every change folded");
        }
    }
    assert_same_rows(
        app,
        "visit_days and the visits",
        "SELECT up.unit, v.visited_on, COUNT(*) FROM visits v
         JOIN households h ON h.id = v.household_id JOIN up ON up.grid = h.grid_id
         GROUP BY up.unit, v.visited_on",
        "SELECT unit_id, day, CAST(SUM(visits) AS BIGINT) FROM visit_days
         GROUP BY unit_id, day HAVING SUM(visits) <> 0",
    )
    .await;
    assert_same_rows(
        app,
        "household_last_visits and the households",
        "SELECT up.unit, COALESCE(h.last_visit_on, ''), COUNT(*) FROM households h
         JOIN up ON up.grid = h.grid_id GROUP BY up.unit, COALESCE(h.last_visit_on, '')",
        "SELECT unit_id, day, CAST(SUM(households) AS BIGINT) FROM household_last_visits
         GROUP BY unit_id, day HAVING SUM(households) <> 0",
    )
    .await;
    // Each state column: visits with that bit (s<n>) or any section in that state
    // (any<k>) of section_bits, which the log's filter tests check against the visits.
    let columns = (0..15)
        .map(|n| (format!("s{n}"), format!("(v.section_bits & {}) <> 0", 1i64 << n)))
        .chain((0..3).map(|k| {
            let mask: i64 = (0..5).map(|i| 1i64 << (3 * i + k)).sum();
            (format!("any{k}"), format!("(v.section_bits & {mask}) <> 0"))
        }));
    for (column, condition) in columns {
        assert_same_rows(
            app,
            &format!("visit_days.{column} and the visits"),
            &format!(
                "SELECT up.unit, v.visited_on, COUNT(*) FROM visits v
                 JOIN households h ON h.id = v.household_id JOIN up ON up.grid = h.grid_id
                 WHERE {condition} GROUP BY up.unit, v.visited_on"
            ),
            &format!(
                "SELECT unit_id, day, CAST(SUM({column}) AS BIGINT) FROM visit_days
                 GROUP BY unit_id, day HAVING SUM({column}) <> 0"
            ),
        )
        .await;
    }
    // Each visit's and each problem's copy of its household's grid path
    // (migrations 0005 and 0006).
    for table in ["visits", "problems"] {
        let wrong = scalar(
            app,
            &format!(
                "SELECT COUNT(*) FROM {table} t JOIN households h ON h.id = t.household_id
                 JOIN units g ON g.id = h.grid_id WHERE t.unit_path <> g.path"
            ),
            &[],
        )
        .await;
        assert_eq!(wrong, 0, "{table} whose unit_path is not their household's grid path");
    }
    // One row of numbers per visit, naming its day, its household's grid, its
    // household and its account (migrations 0007 on PostgreSQL, 0025 on SQLite).
    {
        let number = |alias| daohu_server::store::reports::number_of(app.state.store.dialect(), alias);
        let wrong = scalar(
            app,
            &format!(
                "SELECT COUNT(*) FROM visits v
                 JOIN households h ON h.id = v.household_id JOIN units g ON g.id = h.grid_id
                 JOIN members m ON m.id = v.member_id
                 LEFT JOIN visit_numbers k ON k.visit_id = v.id
                 WHERE k.visit_id IS NULL OR k.day <> v.visited_on OR k.grid_no <> {}
                    OR k.household_no <> {} OR k.member_no <> {}",
                number("g"),
                number("h"),
                number("m")
            ),
            &[],
        )
        .await;
        assert_eq!(wrong, 0, "visits whose numbers are missing or wrong");
        let extra = scalar(
            app,
            "SELECT (SELECT COUNT(*) FROM visit_numbers) - (SELECT COUNT(*) FROM visits)",
            &[],
        )
        .await;
        assert_eq!(extra, 0, "one row of numbers per visit");
    }
    for (table, visit_column) in [("households", "household_id"), ("members", "member_id")] {
        let wrong = scalar(
            app,
            &format!(
                "SELECT COUNT(*) FROM {table} t WHERE t.last_visit_on IS DISTINCT FROM
                     (SELECT MAX(v.visited_on) FROM visits v WHERE v.{visit_column} = t.id)"
            ),
            &[],
        )
        .await;
        assert_eq!(wrong, 0, "{table} whose last_visit_on is not their latest visit");
    }
}

/// Grid ids under a unit, by walking parent links (not paths).
async fn grids_under(app: &TestApp, unit: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "WITH RECURSIVE below(id, kind) AS (
             SELECT id, kind FROM units WHERE id = $1
             UNION ALL SELECT u.id, u.kind FROM units u JOIN below b ON u.parent_id = b.id)
         SELECT id FROM below WHERE kind = 'grid'",
    )
    .bind(unit.to_string())
    .fetch_all(&app.state.pool)
    .await
    .unwrap()
}

fn in_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn dashboard(app: &TestApp, token: &str, query: &str) -> Dashboard {
    let answer = app
        .call(Method::GET, &format!("/api/dashboard?{query}"), Some(token), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {:?}", answer.json());
    serde_json::from_slice(&answer.body).unwrap()
}

/// Checks every figure of one dashboard; answers how many overdue households of
/// special groups and of none it listed.
async fn check_dashboard(app: &TestApp, token: &str, unit: Uuid, from: NaiveDate, to: NaiveDate) -> (usize, usize) {
    let dash = dashboard(app, token, &format!("unit_id={unit}&from={from}&to={to}")).await;
    assert_eq!((dash.unit_id, dash.from, dash.to), (unit, from, to));
    let grids = in_list(&grids_under(app, unit).await);
    let period = vec![from.to_string(), to.to_string()];
    assert_eq!(
        i64::from(dash.households),
        scalar(app, &format!("SELECT COUNT(*) FROM households WHERE grid_id IN ({grids})"), &[]).await
    );
    let visits_sql = format!(
        "SELECT COUNT(*) FROM visits WHERE visited_on >= $1 AND visited_on <= $2
         AND household_id IN (SELECT id FROM households WHERE grid_id IN ({grids}))"
    );
    assert_eq!(i64::from(dash.visits), scalar(app, &visits_sql, &period).await);
    let visited_sql = format!(
        "SELECT COUNT(*) FROM households h WHERE h.grid_id IN ({grids})
         AND EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id AND v.visited_on >= $1 AND v.visited_on <= $2)"
    );
    assert_eq!(i64::from(dash.visited), scalar(app, &visited_sql, &period).await);

    // Coverage: one row per child (a grid: itself), each counted on its own.
    let kind: String = sqlx::query_scalar("SELECT kind FROM units WHERE id = $1")
        .bind(unit.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    let children: Vec<(String, String)> = if kind == "grid" {
        sqlx::query_as("SELECT id, name FROM units WHERE id = $1")
            .bind(unit.to_string())
            .fetch_all(&app.state.pool)
            .await
            .unwrap()
    } else {
        sqlx::query_as("SELECT id, name FROM units WHERE parent_id = $1 ORDER BY rowid")
            .bind(unit.to_string())
            .fetch_all(&app.state.pool)
            .await
            .unwrap()
    };
    assert_eq!(dash.coverage.len(), children.len());
    for (row, (id, name)) in dash.coverage.iter().zip(&children) {
        assert_eq!((row.unit_id.to_string(), &row.name), (id.clone(), name));
        let g = in_list(&grids_under(app, row.unit_id).await);
        assert_eq!(
            i64::from(row.households),
            scalar(app, &format!("SELECT COUNT(*) FROM households WHERE grid_id IN ({g})"), &[]).await
        );
        let sql = format!(
            "SELECT COUNT(DISTINCT v.household_id) FROM visits v JOIN households h ON h.id = v.household_id
             WHERE h.grid_id IN ({g}) AND v.visited_on BETWEEN $1 AND $2"
        );
        assert_eq!(i64::from(row.visited), scalar(app, &sql, &period).await, "{name}");
    }
    assert_eq!(
        dash.coverage.iter().map(|c| c.households).sum::<u32>(),
        dash.households
    );

    // Weekly: Monday of each visit by SQLite's own date arithmetic.
    // The Monday of a day's week, worked out by the database itself.
    let monday = |day: &str| match app.state.store.dialect() {
        daohu_server::db::Dialect::Sqlite => format!("date({day}, 'weekday 0', '-6 days')"),
        daohu_server::db::Dialect::Postgres => {
            format!("to_char(date_trunc('week', CAST({day} AS date)), 'YYYY-MM-DD')")
        }
    };
    let weekly: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT {} AS monday, COUNT(*) FROM visits
         WHERE visited_on BETWEEN $1 AND $2
           AND household_id IN (SELECT id FROM households WHERE grid_id IN ({grids}))
         GROUP BY monday",
        monday("visited_on")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let weekly: BTreeMap<String, i64> = weekly.into_iter().collect();
    let first_monday: String =
        sqlx::query_scalar(&format!("SELECT {}", monday("CAST($1 AS TEXT)")))
            .bind(from.to_string())
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
    assert_eq!(dash.weekly[0].week_start.to_string(), first_monday);
    for pair in dash.weekly.windows(2) {
        assert_eq!(pair[1].week_start - pair[0].week_start, Duration::days(7));
    }
    let last = dash.weekly.last().unwrap().week_start;
    assert!(last <= to && to < last + Duration::days(7));
    for w in &dash.weekly {
        assert_eq!(
            i64::from(w.visits),
            weekly.get(&w.week_start.to_string()).copied().unwrap_or(0),
            "week {}",
            w.week_start
        );
    }
    assert_eq!(dash.weekly.iter().map(|w| w.visits).sum::<u32>(), dash.visits);

    // Overdue households, from the visits themselves: a special-group household's
    // last visit ever before to − 14 days, any other's before to − 30, or none.
    let overdue: Vec<(String, Option<String>, String)> = sqlx::query_as(&format!(
        "SELECT h.id, MAX(v.visited_on) AS last, h.special_groups FROM households h
         LEFT JOIN visits v ON v.household_id = h.id
         WHERE h.grid_id IN ({grids})
         GROUP BY h.id, h.special_groups
         HAVING MAX(v.visited_on) IS NULL
             OR (h.special_groups != '[]' AND MAX(v.visited_on) < $1)
             OR MAX(v.visited_on) < $2"
    ))
    .bind((to - Duration::days(14)).to_string())
    .bind((to - Duration::days(30)).to_string())
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let specials = overdue.iter().filter(|(_, _, g)| g != "[]").count();
    let expected: HashMap<String, Option<String>> = overdue.into_iter().map(|(id, last, _)| (id, last)).collect();
    assert_eq!(dash.overdue.len(), expected.len().min(200));
    assert_eq!(dash.overdue.iter().filter(|o| !o.special_groups.is_empty()).count(), specials.min(200), "special groups first");
    for o in &dash.overdue {
        assert_eq!(
            expected.get(&o.household_id.to_string()),
            Some(&o.last_visit_on.map(|d| d.to_string())),
            "{}",
            o.head_name
        );
    }
    for pair in dash.overdue.windows(2) {
        let key = |o: &daohu_domain::OverdueHousehold| (o.special_groups.is_empty(), o.last_visit_on.is_some(), o.last_visit_on);
        // special groups first; within them never visited first, then oldest first
        assert!(key(&pair[0]) <= key(&pair[1]), "{} before {}", pair[0].head_name, pair[1].head_name);
    }

    // Idle members: member / grid leader accounts under the unit with no visit in the period.
    let idle: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT m.id FROM members m WHERE m.role IN ('member', 'grid_leader') AND m.disabled = 0
         AND m.unit_id IN ({grids})
         AND m.id NOT IN (SELECT member_id FROM visits WHERE visited_on BETWEEN $1 AND $2)"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let got: HashSet<String> = dash.idle_members.iter().map(|m| m.member_id.to_string()).collect();
    assert_eq!(got, idle.into_iter().collect::<HashSet<_>>());

    // Stale devices: of accounts under the unit, last sync over 7 days ago.
    let stale: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT d.device_id FROM devices d JOIN members m ON m.id = d.member_id
         WHERE m.unit_id IN ({grids}) AND d.last_sync_at < $1"
    ))
    .bind(ts(daohu_server::db::now() - Duration::days(7)))
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let got: HashSet<String> = dash.stale_devices.iter().map(|d| d.device_id.to_string()).collect();
    assert_eq!(dash.stale_device_count as usize, stale.len());
    assert_eq!(got, stale.into_iter().collect::<HashSet<_>>());
    let special = dash.overdue.iter().filter(|o| !o.special_groups.is_empty()).count();
    (special, dash.overdue.len() - special)
}

#[tokio::test]
async fn dashboard_figures_match_the_database() {
    let w = world(300).await;
    let app = &w.app;
    // Devices: two stale (李党员's, 周党员's), one fresh.
    let now = daohu_server::db::now();
    for (device, member, age_days) in [(0xa1u128, 2u128, 8i64), (0xa2, 21, 30), (0xa3, 1, 2)] {
        sqlx::query("INSERT INTO devices (device_id, member_id, last_sync_at) VALUES ($1, $2, $3)")
            .bind(Uuid::from_u128(device).to_string())
            .bind(member_id(member).to_string())
            .bind(ts(now - Duration::days(age_days)))
            .execute(&app.state.pool)
            .await
            .unwrap();
    }
    let sun = app.session(19).await;
    let zhao = app.session(9).await;
    let wu = app.session(29).await;
    // Periods: whole data set, a short one (李 idle?), one with no visits at all.
    let mut listed = (0, 0);
    for (from, to) in [
        (d(2026, 1, 1), d(2026, 3, 31)),
        (d(2026, 1, 20), d(2026, 1, 23)),
        (d(2026, 2, 4), d(2026, 2, 4)),
        (d(2025, 6, 1), d(2025, 7, 1)),
    ] {
        for unit in [county_id(), township_id(), village_id(), second_village_id(), grid_id(3)] {
            let (special, other) = check_dashboard(app, &sun_or_wu(unit, &sun, &wu), unit, from, to).await;
            listed = (listed.0 + special, listed.1 + other);
        }
        check_dashboard(app, &zhao, village_id(), from, to).await;
        check_dashboard(app, &zhao, grid_id(1), from, to).await;
    }
    // Some dashboard listed overdue households of both kinds, so their order was tested.
    assert!(listed.0 > 0 && listed.1 > 0, "{listed:?}");
    assert_tallies(app, false).await;
    // Households moved to a grid of the other village take their visits along:
    // the daily tallies follow, and every figure still matches the visits.
    let movers: Vec<(String, String)> = sqlx::query_as(
        "SELECT h.id, h.grid_id FROM households h
         WHERE EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id) ORDER BY h.id LIMIT 5",
    )
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(movers.len(), 5);
    for (id, grid) in &movers {
        let to = if *grid == grid_id(4).to_string() { grid_id(3) } else { grid_id(4) };
        let answer = app
            .call(
                Method::PATCH,
                &format!("/api/households/{id}"),
                Some(&wu),
                Some(serde_json::json!({ "grid_id": to })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    }
    // Folded on PostgreSQL: the figures below read the folded rows.
    assert_tallies(app, true).await;
    for (from, to) in [(d(2026, 1, 1), d(2026, 3, 31)), (d(2026, 1, 20), d(2026, 1, 23))] {
        for unit in [county_id(), village_id(), second_village_id(), grid_id(3), grid_id(4)] {
            check_dashboard(app, &sun_or_wu(unit, &sun, &wu), unit, from, to).await;
            // The log's total for a unit and dates, alone and with a section
            // state, comes from the same tallies.
            let grids = in_list(&grids_under(app, unit).await);
            let sql = format!(
                "SELECT COUNT(*) FROM visits WHERE visited_on BETWEEN $1 AND $2
                 AND household_id IN (SELECT id FROM households WHERE grid_id IN ({grids}))"
            );
            let filters = [
                ("", None),
                ("&section=policy_delivered&state=next_time", Some(SectionState::NextTime.bit(SectionKind::PolicyDelivered))),
                ("&state=done", Some(SectionKind::ALL.iter().map(|k| SectionState::Done.bit(*k)).sum())),
            ];
            for (filter, mask) in filters {
                let answer = app
                    .call(
                        Method::GET,
                        &format!("/api/visits?unit_id={unit}&from={from}&to={to}{filter}&limit=1"),
                        Some(&wu),
                        None,
                    )
                    .await;
                assert_eq!(answer.status, StatusCode::OK);
                let page: VisitLogPage = serde_json::from_slice(&answer.body).unwrap();
                let counted = match mask {
                    Some(mask) => format!("{sql} AND (section_bits & {mask}) <> 0"),
                    None => sql.clone(),
                };
                let expected = scalar(app, &counted, &[from.to_string(), to.to_string()]).await;
                assert_eq!(page.total, u64::try_from(expected).unwrap(), "{unit} {from}..{to} {filter}");
            }
        }
    }
    // Defaults: the caller's unit and the 30 days up to today.
    let dash = dashboard(app, &zhao, "").await;
    let today = daohu_server::routes::dashboard::today();
    assert_eq!(dash.unit_id, village_id());
    assert_eq!(dash.unit_name, "青山村");
    assert_eq!(dash.to, today);
    assert_eq!(dash.from, today - Duration::days(29));
    assert_eq!(dash.coverage.len(), 3);
    assert_eq!(dash.stale_devices.len(), 1, "李党员's phone; 周党员's is in 绿水村");
    let dash = dashboard(app, &sun, "").await;
    assert_eq!(dash.unit_id, township_id());
    assert_eq!(
        dash.coverage.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["青山村", "绿水村"]
    );
    assert_eq!(dash.stale_devices.len(), 2);
    assert_eq!(dash.stale_devices[0].member_name, "周党员", "oldest first");
    // Hundreds of silent phones: all counted, the oldest 200 listed.
    for i in 0..205u128 {
        sqlx::query("INSERT INTO devices (device_id, member_id, last_sync_at) VALUES ($1, $2, $3)")
            .bind(Uuid::from_u128(0xb000 + i).to_string())
            .bind(member_id(1).to_string())
            .bind(ts(now - Duration::days(10) + Duration::minutes(i as i64)))
            .execute(&app.state.pool)
            .await
            .unwrap();
    }
    let dash = dashboard(app, &sun, "").await;
    assert_eq!(dash.stale_device_count, 207);
    assert_eq!(dash.stale_devices.len(), 200);
    assert_eq!(dash.stale_devices[0].member_name, "周党员", "oldest first");
    assert!(dash.stale_devices.windows(2).all(|w| w[0].last_sync_at <= w[1].last_sync_at));
    // Scope and bad periods.
    for (query, status) in [
        (format!("unit_id={}", second_village_id()), StatusCode::NOT_FOUND),
        (format!("unit_id={}", township_id()), StatusCode::NOT_FOUND),
        ("from=2026-02-01&to=2026-01-01".to_string(), StatusCode::BAD_REQUEST),
        ("from=2020-01-01&to=2026-01-01".to_string(), StatusCode::BAD_REQUEST),
    ] {
        let answer = app
            .call(Method::GET, &format!("/api/dashboard?{query}"), Some(&zhao), None)
            .await;
        assert_eq!(answer.status, status, "{query}");
    }
    // A disabled member is not listed as idle.
    sqlx::query("UPDATE members SET disabled = 1 WHERE id = $1")
        .bind(member_id(2).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    let dash = dashboard(app, &zhao, "from=2025-06-01&to=2025-06-02").await;
    let names: Vec<_> = dash.idle_members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["张党员", "王网格长"]);
}

fn sun_or_wu(unit: Uuid, sun: &str, wu: &str) -> String {
    if unit == county_id() {
        wu.to_string()
    } else {
        sun.to_string()
    }
}

#[tokio::test]
async fn meeting_sheet_lists_the_weeks_visits_problems_and_due_households_per_grid() {
    let w = world(300).await;
    let app = &w.app;
    let sun = app.session(19).await;
    let zhao = app.session(9).await;
    let monday = d(2026, 2, 2);
    assert_eq!(monday.format("%a").to_string(), "Mon");
    let answer = app
        .call(
            Method::GET,
            &format!("/api/meeting-sheet?unit_id={}&week_start={monday}", township_id()),
            Some(&sun),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    let sheet: MeetingSheet = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(sheet.week_start, monday);
    // Grids by village name, then grid name (UTF-8 order).
    let names: Vec<(String, String)> = sheet
        .grids
        .iter()
        .map(|g| (g.village_name.clone(), g.grid_name.clone()))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 4);
    let grid_names = ["第一网格", "第二网格", "第三网格", "绿水第一网格"];
    let mut seen_visits = 0;
    let mut seen_problems = 0;
    for g in &sheet.grids {
        let grid = grid_names.iter().position(|n| *n == g.grid_name).unwrap() as u128 + 1;
        assert_eq!(g.households, if grid == 4 { 10 } else { 20 });
        let mut week: Vec<&Stored> = w
            .stored
            .iter()
            .filter(|s| {
                w.house(s).grid == grid
                    && s.visit.visited_on >= monday
                    && s.visit.visited_on < monday + Duration::days(7)
            })
            .collect();
        week.sort_by_key(|s| (s.visit.visited_on, s.visit.recorded_at, s.visit.id));
        let expected: Vec<(NaiveDate, String, String, String)> = week
            .iter()
            .map(|s| {
                let h = w.house(s);
                (
                    s.visit.visited_on,
                    h.head.clone(),
                    h.address.clone(),
                    member_name(report_data::member_for(h.n)).to_string(),
                )
            })
            .collect();
        let got: Vec<(NaiveDate, String, String, String)> = g
            .visits
            .iter()
            .map(|v| (v.visited_on, v.head_name.clone(), v.address.clone(), v.member_name.clone()))
            .collect();
        assert_eq!(got, expected, "{}", g.grid_name);
        let expected: Vec<(String, String)> = week
            .iter()
            .flat_map(|s| {
                let head = w.house(s).head.clone();
                s.visit
                    .problems
                    .iter()
                    .map(move |p| (head.clone(), p.description.clone()))
            })
            .collect();
        let got: Vec<(String, String)> = g
            .problems
            .iter()
            .map(|p| (p.head_name.clone(), p.description.clone()))
            .collect();
        assert_eq!(got, expected, "{}", g.grid_name);
        for p in &g.problems {
            let original = week
                .iter()
                .flat_map(|s| s.visit.problems.iter())
                .find(|x| x.description == p.description)
                .unwrap();
            assert_eq!(
                (p.category, p.urgency, p.outcome),
                (original.category, original.urgency, original.outcome)
            );
        }
        seen_visits += g.visits.len();
        seen_problems += g.problems.len();
    }
    assert!(seen_visits > 10 && seen_problems > 5, "{seen_visits} {seen_problems}");

    // Due by the week's last day, from the visits themselves: a special-group
    // household last visited 14 days before or earlier, any other 30, or never.
    let sunday = monday + Duration::days(6);
    let due: Vec<(String, String)> = sqlx::query_as(
        "SELECT g.name, h.id FROM households h
         JOIN units g ON g.id = h.grid_id
         LEFT JOIN visits v ON v.household_id = h.id
         WHERE g.path LIKE (SELECT path FROM units WHERE id = $3) || '%'
         GROUP BY g.name, h.id, h.special_groups
         HAVING MAX(v.visited_on) IS NULL
             OR (h.special_groups != '[]' AND MAX(v.visited_on) <= $1)
             OR MAX(v.visited_on) <= $2",
    )
    .bind((sunday - Duration::days(14)).to_string())
    .bind((sunday - Duration::days(30)).to_string())
    .bind(township_id().to_string())
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let listed: usize = sheet.grids.iter().map(|g| g.due.len()).sum();
    let households: u32 = sheet.grids.iter().map(|g| g.households).sum();
    assert!(listed > 0 && (listed as u32) < households, "some households are due, not all: {listed} of {households}");
    for g in &sheet.grids {
        let mut want: Vec<&str> = due.iter().filter(|(grid, _)| *grid == g.grid_name).map(|(_, id)| id.as_str()).collect();
        want.sort();
        let ids: Vec<String> = g.due.iter().map(|h| h.household_id.to_string()).collect();
        let mut got: Vec<&str> = ids.iter().map(String::as_str).collect();
        got.sort();
        assert_eq!(got, want, "{}", g.grid_name);
        assert!(g.due.iter().all(|h| h.grid_name == g.grid_name));
        for pair in g.due.windows(2) {
            let key = |o: &daohu_domain::OverdueHousehold| (o.special_groups.is_empty(), o.last_visit_on.is_some(), o.last_visit_on);
            assert!(key(&pair[0]) <= key(&pair[1]), "{} before {}", pair[0].head_name, pair[1].head_name);
        }
    }

    // The village coordinator: 青山村's three grids only, by default their own unit.
    let answer = app
        .call(Method::GET, &format!("/api/meeting-sheet?week_start={monday}"), Some(&zhao), None)
        .await;
    let sheet: MeetingSheet = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(sheet.grids.len(), 3);
    assert!(sheet.grids.iter().all(|g| g.village_name == "青山村"));
    // A grid: that grid only.
    let answer = app
        .call(
            Method::GET,
            &format!("/api/meeting-sheet?unit_id={}&week_start={monday}", grid_id(2)),
            Some(&zhao),
            None,
        )
        .await;
    let sheet: MeetingSheet = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(sheet.grids.len(), 1);
    assert_eq!(sheet.grids[0].grid_name, "第二网格");
    // Default week: this week's Monday.
    let answer = app.call(Method::GET, "/api/meeting-sheet", Some(&zhao), None).await;
    let sheet: MeetingSheet = serde_json::from_slice(&answer.body).unwrap();
    let today = daohu_server::routes::dashboard::today();
    assert_eq!(sheet.week_start.format("%a").to_string(), "Mon");
    assert!(sheet.week_start <= today && today < sheet.week_start + Duration::days(7));
    // Not a Monday: 400; another village: 404.
    let answer = app
        .call(Method::GET, "/api/meeting-sheet?week_start=2026-02-03", Some(&zhao), None)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = app
        .call(
            Method::GET,
            &format!("/api/meeting-sheet?unit_id={}", second_village_id()),
            Some(&zhao),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

/// Visits stored before migration 0013 are found by the words of their problems
/// and by answers given before it: the migration fills the search text of every
/// visit already there (SQLite's table and trigram index, PostgreSQL's column).
#[tokio::test]
async fn visits_stored_before_the_search_migration_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let url = daohu_server::db::test_database_url(dir.path()).await.unwrap();
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let mut before = if url.starts_with("postgres") {
        sqlx::migrate!("./migrations/postgres")
    } else {
        sqlx::migrate!("./migrations/sqlite")
    };
    before.migrations = before.migrations.iter().filter(|m| m.version < 13).cloned().collect::<Vec<_>>().into();
    before.run(&pool).await.unwrap();
    daohu_server::seed_demo(&pool).await.unwrap();
    let today = chrono::Local::now().date_naive();
    let mut visits = report_data::generate(40, today - Duration::days(30), 30, 5);
    visits[0].problems.clear();
    visits[0].problems.push(daohu_domain::ProblemEntry {
        id: Uuid::now_v7(),
        category: daohu_domain::ProblemCategory::ALL[0],
        urgency: daohu_domain::Urgency::ALL[0],
        description: "自来水管冻裂".into(),
        outcome: daohu_domain::ProblemOutcome::Escalate,
        action: String::new(),
    });
    for v in &visits {
        report_data::insert(&pool, v, chrono::Utc::now()).await;
    }
    sqlx::query("UPDATE problems SET answer = '乡里已派人更换水管' WHERE visit_id = $1")
        .bind(visits[0].id.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let pool = daohu_server::db::connect(&url).await.unwrap();
    let settings = daohu_server::Settings { dist_dir: dir.path().join("dist"), ..Default::default() };
    let state = daohu_server::AppState::new(pool, settings);
    let app = TestApp { router: daohu_server::app(state.clone()), dir, state };
    let houses = houses(&app.state.pool).await;
    let stored: Vec<Stored> = visits
        .iter()
        .map(|v| Stored { visit: v.clone(), received_at: chrono::Utc::now(), via_sync: false })
        .collect();
    let w = World { app, stored, houses };
    let wu = w.app.session(29).await;
    let zhao = w.app.session(9).await;
    let first = visits[0].id;
    for q in ["冻裂", "自来水管冻裂", "更换水管", "乡里已派人"] {
        let query = format!("q={}", daohu_server::routes::exports::percent_encode(q));
        assert_eq!(w.all(&wu, &query).await.0, [first], "county, {q}");
    }
    // Every other kind of text, at both scopes, as for visits stored after it.
    for q in ["饮水", "屋顶", "问题1", "当场帮忙", "王网格长"] {
        let query = format!("q={}", daohu_server::routes::exports::percent_encode(q));
        let expected = w.expect(|s, h| contains_text(s, h, q));
        assert!(!expected.is_empty(), "{q}");
        assert_eq!(w.all(&wu, &query).await.0, expected, "county, {q}");
        let expected = w.expect(|s, h| h.village() == 1 && contains_text(s, h, q));
        assert_eq!(w.all(&zhao, &query).await.0, expected, "village, {q}");
    }
}

/// A county's or township's overdue list is bounded by its page's last
/// household of the special groups (found in their own index) before it is
/// sorted; the bounded read answers exactly what reading every household
/// answers, for every area, page size and day, on both databases.
#[tokio::test]
async fn the_bounded_overdue_list_equals_the_whole_read() {
    use daohu_server::store::reports::{overdue_households, overdue_households_sql};
    use daohu_server::tree::Subtree;
    let w = world(300).await;
    let mut conn = w.app.state.pool.acquire().await.unwrap();
    let path = |units: &[Uuid]| Subtree { path: format!("/{}/", units.iter().map(Uuid::to_string).collect::<Vec<_>>().join("/")) };
    let intervals = daohu_domain::Intervals::default();
    let mut bounded = 0;
    for area in [path(&[county_id()]), path(&[county_id(), township_id()]), path(&[county_id(), township_id(), village_id()])] {
        for on in [d(2026, 1, 10), d(2026, 2, 4), d(2026, 4, 30)] {
            for limit in [1, 2, 5, 17, 200] {
                let rows = sqlx::query_as::<_, (String, String, String, String, String, Option<String>)>(
                    &overdue_households_sql(limit, &intervals, on, ""),
                )
                .bind(area.lo())
                .bind(area.hi())
                .fetch_all(&mut *conn)
                .await
                .unwrap();
                // A full page of the special groups' households alone: the bounded read's case.
                let full = rows.len() == limit && rows.iter().all(|r| r.4 != "[]") && area.path.matches('/').count() <= 3;
                let whole: Vec<(String, Option<String>)> = rows.into_iter().map(|r| (r.0, r.5)).collect();
                let got: Vec<(String, Option<String>)> = overdue_households(&mut conn, &area, &intervals, on, limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|o| (o.household_id.to_string(), o.last_visit_on.map(|d| d.to_string())))
                    .collect();
                assert_eq!(got, whole, "{} on {on}, {limit} a page", area.path);
                bounded += usize::from(full);
            }
        }
    }
    assert!(bounded > 0, "some page was full, so the bounded read was taken");
}
