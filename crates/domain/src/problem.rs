//! Problems a family raises at the door (诉求).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

named_enum! {
    /// What a problem is about.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ProblemCategory {
        Housing = "housing",
        Water = "water",
        Road = "road",
        Medical = "medical",
        Schooling = "schooling",
        Employment = "employment",
        Dispute = "dispute",
        Policy = "policy",
        Industry = "industry",
        Other = "other",
    }
}

impl ProblemCategory {
    pub fn label_zh(self) -> &'static str {
        match self {
            ProblemCategory::Housing => "住房",
            ProblemCategory::Water => "饮水",
            ProblemCategory::Road => "道路",
            ProblemCategory::Medical => "就医",
            ProblemCategory::Schooling => "上学",
            ProblemCategory::Employment => "就业",
            ProblemCategory::Dispute => "矛盾纠纷",
            ProblemCategory::Policy => "政策",
            ProblemCategory::Industry => "产业",
            ProblemCategory::Other => "其他",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ProblemCategory::Housing => "Housing",
            ProblemCategory::Water => "Water",
            ProblemCategory::Road => "Road",
            ProblemCategory::Medical => "Medical",
            ProblemCategory::Schooling => "Schooling",
            ProblemCategory::Employment => "Employment",
            ProblemCategory::Dispute => "Dispute",
            ProblemCategory::Policy => "Policy",
            ProblemCategory::Industry => "Industry",
            ProblemCategory::Other => "Other",
        }
    }



}

named_enum! {
    /// How soon a problem needs an answer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Urgency {
        Low = "low",
        Normal = "normal",
        High = "high",
    }
}

impl Urgency {
    pub fn label_zh(self) -> &'static str {
        match self {
            Urgency::Low => "不急",
            Urgency::Normal => "一般",
            Urgency::High => "紧急",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Urgency::Low => "Low",
            Urgency::Normal => "Normal",
            Urgency::High => "Urgent",
        }
    }



    /// Days the answer may take before the problem counts as overdue.
    pub fn due_days(self) -> i64 {
        match self {
            Urgency::Low => 30,
            Urgency::Normal => 15,
            Urgency::High => 3,
        }
    }
}

named_enum! {
    /// What happened to the problem at the door.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ProblemOutcome {
        /// 当场解决
        ResolvedOnSpot = "resolved_on_spot",
        /// 上报村里
        Escalate = "escalate",
    }
}

impl ProblemOutcome {
    pub fn label_zh(self) -> &'static str {
        match self {
            ProblemOutcome::ResolvedOnSpot => "当场解决",
            ProblemOutcome::Escalate => "上报村里",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ProblemOutcome::ResolvedOnSpot => "Resolved on the spot",
            ProblemOutcome::Escalate => "Escalate to the village",
        }
    }



}

/// One problem recorded during a visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProblemEntry {
    pub id: Uuid,
    pub category: ProblemCategory,
    pub urgency: Urgency,
    pub description: String,
    pub outcome: ProblemOutcome,
    /// What was done, when resolved on the spot.
    pub action: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_urgencies_round_trip() {
        for c in ProblemCategory::ALL {
            assert_eq!(ProblemCategory::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.as_str()));
        }
        for u in Urgency::ALL {
            assert_eq!(Urgency::parse(u.as_str()), Some(u));
        }
        assert!(Urgency::High.due_days() < Urgency::Normal.due_days());
        assert!(Urgency::Normal.due_days() < Urgency::Low.due_days());
        for o in [ProblemOutcome::ResolvedOnSpot, ProblemOutcome::Escalate] {
            assert_eq!(ProblemOutcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{}\"", o.as_str()));
        }
        assert_eq!(ProblemOutcome::parse("x"), None);
    }
}
