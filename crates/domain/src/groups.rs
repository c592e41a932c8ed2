//! The special groups of households that need closer attention (特殊群体):
//! their names in both languages, the words rosters use for them, and how
//! often their households are visited ([`Intervals`], the county's to set). Apart
//! from the household so the ledger's catalogue can name them without the
//! roster's types.

named_enum! {
    /// Groups that need closer attention and more frequent visits (特殊群体).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum SpecialGroup {
        /// 低保户
        SubsistenceAllowance = "subsistence_allowance",
        /// 特困 / 五保户
        ExtremePoverty = "extreme_poverty",
        /// 重病户
        SeriouslyIll = "seriously_ill",
        /// 重残户
        SeverelyDisabled = "severely_disabled",
        /// 空巢老人
        ElderlyAlone = "elderly_alone",
        /// 留守儿童
        LeftBehindChildren = "left_behind_children",
    }
}

impl SpecialGroup {
    pub fn label_zh(self) -> &'static str {
        match self {
            SpecialGroup::SubsistenceAllowance => "低保户",
            SpecialGroup::ExtremePoverty => "特困/五保",
            SpecialGroup::SeriouslyIll => "重病户",
            SpecialGroup::SeverelyDisabled => "重残户",
            SpecialGroup::ElderlyAlone => "空巢老人",
            SpecialGroup::LeftBehindChildren => "留守儿童",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SpecialGroup::SubsistenceAllowance => "Subsistence allowance",
            SpecialGroup::ExtremePoverty => "Extreme poverty",
            SpecialGroup::SeriouslyIll => "Seriously ill",
            SpecialGroup::SeverelyDisabled => "Severely disabled",
            SpecialGroup::ElderlyAlone => "Elderly alone",
            SpecialGroup::LeftBehindChildren => "Left-behind children",
        }
    }

    /// A short English name for the household list's one line of tags (the
    /// Chinese names are short already); the household's page shows the full one.
    pub fn short_en(self) -> &'static str {
        match self {
            SpecialGroup::SubsistenceAllowance => "Low income",
            SpecialGroup::ExtremePoverty => "Very poor",
            SpecialGroup::SeriouslyIll => "Ill",
            SpecialGroup::SeverelyDisabled => "Disabled",
            SpecialGroup::ElderlyAlone => "Elderly alone",
            SpecialGroup::LeftBehindChildren => "Left-behind kids",
        }
    }

    /// Reads a group from the words offices write in rosters (Chinese or English, a few synonyms).
    pub fn from_label(label: &str) -> Option<SpecialGroup> {
        let l = label.trim();
        let by_alias = match l {
            "低保" | "低保户" => Some(SpecialGroup::SubsistenceAllowance),
            "特困" | "五保" | "五保户" | "特困户" | "特困/五保" | "特困供养" => {
                Some(SpecialGroup::ExtremePoverty)
            }
            "重病" | "重病户" => Some(SpecialGroup::SeriouslyIll),
            "重残" | "重残户" => Some(SpecialGroup::SeverelyDisabled),
            "空巢" | "空巢老人" | "独居老人" => Some(SpecialGroup::ElderlyAlone),
            "留守儿童" => Some(SpecialGroup::LeftBehindChildren),
            _ => None,
        };
        by_alias.or_else(|| {
            SpecialGroup::ALL
                .into_iter()
                .find(|g| g.label_en().eq_ignore_ascii_case(l))
        })
    }
}

/// Days allowed between two visits, as the county's catalogue sets them: for
/// an ordinary household, for one in any special group, and for a group with
/// its own. A household in several groups takes the shortest.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intervals {
    pub ordinary: u32,
    pub special: u32,
    /// Groups visited more (or less) often than `special`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<(SpecialGroup, u32)>,
}

impl Default for Intervals {
    /// What every county had before it set its own: 30 days, 14 for special groups.
    fn default() -> Self {
        Intervals { ordinary: 30, special: 14, groups: Vec::new() }
    }
}

impl Intervals {
    pub fn is_default(&self) -> bool {
        *self == Intervals::default()
    }

    /// The days for a household in these groups (none: an ordinary household).
    pub fn days_for(&self, groups: &[SpecialGroup]) -> u32 {
        let of = |g: &SpecialGroup| self.groups.iter().find(|(x, _)| x == g).map_or(self.special, |(_, d)| *d);
        groups.iter().map(of).min().unwrap_or(self.ordinary)
    }

    /// Whether a household in these groups, last visited on `last` (never: none), is due on `today`.
    pub fn is_due(&self, groups: &[SpecialGroup], last: Option<chrono::NaiveDate>, today: chrono::NaiveDate) -> bool {
        last.is_none_or(|last| (today - last).num_days() >= i64::from(self.days_for(groups)))
    }

    /// Whether every interval is 1 to 365 days, and no group is set twice.
    pub fn fits(&self) -> bool {
        let ok = |d: u32| (1..=365).contains(&d);
        ok(self.ordinary)
            && ok(self.special)
            && self.groups.iter().enumerate().all(|(i, (g, d))| ok(*d) && !self.groups[..i].iter().any(|(x, _)| x == g))
    }
}

#[cfg(test)]
mod interval_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_household_takes_the_shortest_interval_of_its_groups() {
        let d = |day: u32| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        let plain = Intervals::default();
        assert_eq!((plain.days_for(&[]), plain.days_for(&[SpecialGroup::ElderlyAlone])), (30, 14));
        let county = Intervals { ordinary: 60, special: 30, groups: vec![(SpecialGroup::ElderlyAlone, 7), (SpecialGroup::LeftBehindChildren, 45)] };
        assert!(county.fits());
        assert_eq!(county.days_for(&[]), 60);
        assert_eq!(county.days_for(&[SpecialGroup::LeftBehindChildren]), 45, "a group may be visited less often than the others");
        assert_eq!(county.days_for(&[SpecialGroup::LeftBehindChildren, SpecialGroup::SeriouslyIll]), 30);
        assert_eq!(county.days_for(&[SpecialGroup::SeriouslyIll, SpecialGroup::ElderlyAlone]), 7);
        assert!(!county.is_due(&[SpecialGroup::ElderlyAlone], Some(d(1)), d(7)));
        assert!(county.is_due(&[SpecialGroup::ElderlyAlone], Some(d(1)), d(8)));
        assert!(county.is_due(&[], None, d(1)));
        assert!(!Intervals { ordinary: 0, ..Intervals::default() }.fits());
        assert!(!Intervals { groups: vec![(SpecialGroup::ElderlyAlone, 7), (SpecialGroup::ElderlyAlone, 9)], ..Intervals::default() }.fits());
    }
}
