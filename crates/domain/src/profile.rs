//! The household profile's facts beyond housing, water and the people at home
//! (issue 17, 民情): illness and disability in the family, where the income
//! comes from, the road, winter heating, and how the family prefers to be
//! reached. Each is a field of the household's ledger
//! ([`crate::ledger::LedgerField`]), merged and kept with its history like the
//! others; this module holds their values, their words on the wire and their
//! labels in both languages.

/// Most family members a list of disabilities can hold (as many as can live at home).
pub const MAX_MEMBERS: usize = 30;
/// The word of an empty list: no disabled member, or no income source recorded.
pub const NONE_WORD: &str = "none";

named_enum! {
    /// The road to the house (道路通达).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Road {
        Paved = "paved",
        Gravel = "gravel",
        NoVehicle = "no_vehicle",
    }
}
labelled!(Road:
    Paved => "通硬化路", "Paved road";
    Gravel => "砂石土路", "Gravel or dirt road";
    NoVehicle => "不通车", "No road for vehicles";
);

named_enum! {
    /// Winter heating (冬季取暖).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Heating {
        Adequate = "adequate",
        Difficult = "difficult",
        Unsafe = "unsafe",
    }
}
labelled!(Heating:
    Adequate => "取暖有保障", "Adequate";
    Difficult => "取暖有困难", "Hard to keep warm";
    Unsafe => "取暖不安全", "Unsafe (fumes or fire risk)";
);

named_enum! {
    /// How the family prefers to be reached (联系方式).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Contact {
        Phone = "phone",
        Wechat = "wechat",
        InPerson = "in_person",
        Relative = "relative",
    }
}
labelled!(Contact:
    Phone => "打电话", "Phone call";
    Wechat => "微信", "WeChat";
    InPerson => "上门", "In person";
    Relative => "托亲属转告", "Through a relative";
);

named_enum! {
    /// One source of the family's income (收入来源).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Income {
        Crops = "crops",
        Livestock = "livestock",
        LocalWork = "local_work",
        MigrantWork = "migrant_work",
        Business = "business",
        Pension = "pension",
        Allowance = "allowance",
        Other = "other",
    }
}
labelled!(Income:
    Crops => "种植", "Crops";
    Livestock => "养殖", "Livestock";
    LocalWork => "就近务工", "Work nearby";
    MigrantWork => "外出务工", "Work away from home";
    Business => "经商", "Own business";
    Pension => "养老金", "Pension";
    Allowance => "政策补贴", "Benefits";
    Other => "其他", "Other";
);

/// The family's income sources: a set, kept in [`Income::ALL`]'s order so the
/// same set is always the same word.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Incomes(Vec<Income>);

impl Incomes {
    pub fn of(sources: impl IntoIterator<Item = Income>) -> Incomes {
        // Picked from ALL rather than sorted: no sort code in the phone's wasm.
        let given: Vec<Income> = sources.into_iter().collect();
        Incomes(Income::ALL.into_iter().filter(|s| given.contains(s)).collect())
    }

    pub fn has(&self, source: Income) -> bool {
        self.0.contains(&source)
    }

    /// The set with `source` added (`on`) or taken out.
    pub fn with(&self, source: Income, on: bool) -> Incomes {
        Incomes::of(self.0.iter().copied().filter(|s| *s != source).chain(on.then_some(source)))
    }

    /// `crops,migrant_work`, or [`NONE_WORD`].
    pub fn word(&self) -> String {
        words(self.0.iter().map(|s| s.as_str()))
    }

    /// Reads a word back: known sources, comma-separated, each once.
    pub fn parse(word: &str) -> Option<Incomes> {
        let mut list = Vec::new();
        for part in split(word)? {
            let source = Income::parse(part).filter(|s| !list.contains(s))?;
            list.push(source);
        }
        Some(Incomes::of(list))
    }

    pub fn label(&self, zh: bool) -> String {
        labels(self.0.iter().map(|s| s.label(zh).to_string()), zh)
    }
}

/// The grades (一级, the most severe, to 四级) of the family's members who hold
/// a disability certificate, one a member, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Disabilities(Vec<u8>);

impl Disabilities {
    pub const GRADES: [u8; 4] = [1, 2, 3, 4];

    /// `None` for a grade outside 1–4 or more members than a family holds.
    pub fn of(grades: impl IntoIterator<Item = u8>) -> Option<Disabilities> {
        let given: Vec<u8> = grades.into_iter().collect();
        if given.len() > MAX_MEMBERS || given.iter().any(|g| !Self::GRADES.contains(g)) {
            return None;
        }
        // Counted per grade rather than sorted: no sort code in the phone's wasm.
        let counts = Self::GRADES.map(|g| given.iter().filter(|x| **x == g).count());
        Some(Disabilities(Self::GRADES.into_iter().zip(counts).flat_map(|(g, n)| std::iter::repeat_n(g, n)).collect()))
    }

    /// How many members have this grade.
    pub fn count(&self, grade: u8) -> usize {
        self.0.iter().filter(|g| **g == grade).count()
    }

    /// The list with `n` members of `grade` (the other grades kept).
    pub fn with_count(&self, grade: u8, n: usize) -> Option<Disabilities> {
        let others = self.0.iter().copied().filter(|g| *g != grade);
        Disabilities::of(others.chain(std::iter::repeat_n(grade, n)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `1,3,3`, or [`NONE_WORD`].
    pub fn word(&self) -> String {
        words(self.0.iter().map(|g| g.to_string()))
    }

    pub fn parse(word: &str) -> Option<Disabilities> {
        let mut list = Vec::new();
        for part in split(word)? {
            list.push(part.parse().ok()?);
        }
        Disabilities::of(list)
    }

    /// `二级 1 人，四级 2 人`, or `无`.
    pub fn label(&self, zh: bool) -> String {
        const ZH: [&str; 4] = ["一级", "二级", "三级", "四级"];
        let parts = Self::GRADES.iter().filter(|g| self.count(**g) > 0).map(|g| {
            let n = self.count(*g);
            if zh { format!("{} {n} 人", ZH[*g as usize - 1]) } else { format!("grade {g}: {n}") }
        });
        labels(parts, zh)
    }
}

pub(crate) fn words<S: AsRef<str>>(parts: impl Iterator<Item = S>) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(p.as_ref());
    }
    if out.is_empty() { NONE_WORD.into() } else { out }
}

pub(crate) fn split(word: &str) -> Option<impl Iterator<Item = &str>> {
    let word = word.trim();
    if word.is_empty() {
        return None;
    }
    let none = word == NONE_WORD;
    Some(word.split(',').map(str::trim).filter(move |_| !none))
}

pub(crate) fn labels(parts: impl Iterator<Item = String>, zh: bool) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() {
            out.push_str(if zh { "，" } else { ", " });
        }
        out.push_str(&p);
    }
    match (out.is_empty(), zh) {
        (true, true) => "无".into(),
        (true, false) => "None".into(),
        (false, _) => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_income_set_is_one_word_whatever_the_order_taps_came_in() {
        let a = Incomes::of([Income::MigrantWork, Income::Crops]);
        let b = Incomes::default().with(Income::Crops, true).with(Income::MigrantWork, true);
        assert_eq!(a, b);
        assert_eq!(a.word(), "crops,migrant_work");
        assert_eq!(Incomes::parse("migrant_work,crops"), Some(a.clone()));
        assert_eq!(a.with(Income::Crops, false).word(), "migrant_work");
        assert_eq!(Incomes::default().word(), "none");
        assert_eq!(Incomes::parse("none"), Some(Incomes::default()));
        assert_eq!(a.label(true), "种植，外出务工");
        assert_eq!(Incomes::default().label(false), "None");
    }

    #[test]
    fn unknown_repeated_or_empty_income_words_are_refused() {
        assert_eq!(Incomes::parse("crops,gold_mine"), None);
        assert_eq!(Incomes::parse("crops,crops"), None);
        assert_eq!(Incomes::parse(""), None);
        assert_eq!(Incomes::parse("crops,"), None);
    }

    #[test]
    fn disabilities_keep_each_members_grade_and_refuse_other_grades() {
        let d = Disabilities::of([4, 2, 4]).unwrap();
        assert_eq!(d.word(), "2,4,4");
        assert_eq!(d.count(4), 2);
        assert_eq!(Disabilities::parse("4,2,4"), Some(d.clone()));
        assert_eq!(d.label(true), "二级 1 人，四级 2 人");
        assert_eq!(d.label(false), "grade 2: 1, grade 4: 2");
        assert_eq!(d.with_count(4, 0).unwrap().word(), "2");
        assert_eq!(d.with_count(1, 1).unwrap().word(), "1,2,4,4");
        assert!(d.with_count(3, MAX_MEMBERS).is_none(), "more members than a family holds");
        assert_eq!(Disabilities::parse("none"), Some(Disabilities::default()));
        assert_eq!(Disabilities::default().label(true), "无");
        for bad in ["0", "5", "2,x", "", "-1"] {
            assert_eq!(Disabilities::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_condition_has_a_label_in_both_languages() {
        for r in Road::ALL {
            assert!(!r.label(true).is_empty() && r.label(false).is_ascii(), "{r:?}");
        }
        for h in Heating::ALL {
            assert!(!h.label(true).is_empty() && h.label(false).is_ascii(), "{h:?}");
        }
        for c in Contact::ALL {
            assert!(!c.label(true).is_empty() && c.label(false).is_ascii(), "{c:?}");
        }
        for i in Income::ALL {
            assert!(!i.label(true).is_empty() && i.label(false).is_ascii(), "{i:?}");
        }
        assert_eq!(Road::parse("no_vehicle"), Some(Road::NoVehicle));
        assert_eq!(Contact::Wechat.label(true), "微信");
    }
}
