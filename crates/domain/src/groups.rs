//! The special groups of households that need closer attention (特殊群体):
//! their names in both languages and the words rosters use for them. Apart
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
