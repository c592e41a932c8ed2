//! The organisation tree as paths: `/<county>/<township>/<village>/<grid>/`, each
//! unit's id followed by `/`. A subtree is a path prefix, and "inside" a range of
//! paths, which both databases answer from the path index.

use daohu_domain::UnitKind;
use uuid::Uuid;

/// A coordinator's subtree: their unit and everything below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subtree {
    /// The path of the subtree's top unit, ending in `/`.
    pub path: String,
}

impl Subtree {
    /// The lowest path inside: the top unit's own.
    pub fn lo(&self) -> &str {
        &self.path
    }

    /// The first path past the subtree: its path with the final `/` raised to
    /// `0`, the next byte, so `lo() <= path < hi()` holds exactly for the paths
    /// starting with `lo()` (paths compare byte by byte in both databases).
    pub fn hi(&self) -> String {
        format!("{}0", self.path.strip_suffix('/').unwrap_or(&self.path))
    }

    /// The id of the top unit: the last one in its path (ids are 36 characters).
    pub fn unit_id(&self) -> &str {
        let end = self.path.len().saturating_sub(1);
        self.path.get(end.saturating_sub(36)..end).unwrap_or_default()
    }

    /// How deep its top unit sits: 1 for a county, 2 a township, 3 a village,
    /// 4 a grid (the ids in its path).
    pub fn depth(&self) -> usize {
        self.path.matches('/').count().saturating_sub(1)
    }

    /// A county or township: the areas whose lists are read in a state's
    /// index order and stopped at the page, not read whole by place.
    pub fn is_wide(&self) -> bool {
        self.depth() <= 2
    }

    /// Whether a unit with this path is inside.
    pub fn contains(&self, unit_path: &str) -> bool {
        unit_path.starts_with(&self.path)
    }
}

/// The county of a unit path: its first id (`/<county>/…`), as text.
pub fn county_of_path(unit_path: &str) -> &str {
    unit_path.trim_start_matches('/').split('/').next().unwrap_or_default()
}

/// The path of a unit under a parent with path `parent` (`None` for a county).
pub fn unit_path(parent: Option<&str>, id: Uuid) -> String {
    format!("{}{id}/", parent.unwrap_or("/"))
}

/// The village (or higher unit) an account on this unit works in: a grid's village,
/// any other unit itself. Links and activities of the account stay inside it.
pub fn village_area(unit_path: &str, kind: UnitKind) -> Subtree {
    let path = if kind == UnitKind::Grid {
        // `/…/<village>/<grid>/` → `/…/<village>/`
        let inner = unit_path.trim_end_matches('/');
        inner.rsplit_once('/').map_or(inner, |(parent, _)| parent)
    } else {
        unit_path.trim_end_matches('/')
    };
    Subtree { path: format!("{path}/") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_knows_its_depth() {
        let ids: Vec<Uuid> = (1..=4).map(Uuid::from_u128).collect();
        let mut path: Option<String> = None;
        for (depth, id) in ids.iter().enumerate() {
            let p = unit_path(path.as_deref(), *id);
            let area = Subtree { path: p.clone() };
            assert_eq!(area.depth(), depth + 1);
            assert_eq!(area.is_wide(), depth < 2, "{p}");
            path = Some(p);
        }
    }

    #[test]
    fn the_county_is_the_first_id_of_a_path() {
        let (c, t) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let path = unit_path(Some(&unit_path(None, c)), t);
        assert_eq!(county_of_path(&path), c.to_string());
        assert_eq!(county_of_path(&unit_path(None, c)), c.to_string());
    }

    #[test]
    fn paths_nest() {
        let county = Uuid::from_u128(1);
        let village = Uuid::from_u128(2);
        let c = unit_path(None, county);
        let v = unit_path(Some(&c), village);
        assert_eq!(c, format!("/{county}/"));
        assert!(v.starts_with(&c) && v.ends_with(&format!("{village}/")));
        let s = Subtree { path: c.clone() };
        assert!(s.contains(&v) && s.contains(&c));
        assert_eq!(s.unit_id(), county.to_string());
        assert_eq!(Subtree { path: v.clone() }.unit_id(), village.to_string());
        assert!(!Subtree { path: v.clone() }.contains(&c));
        let g = unit_path(Some(&v), Uuid::from_u128(3));
        assert_eq!(village_area(&g, UnitKind::Grid).path, v);
        assert_eq!(village_area(&v, UnitKind::Village).path, v);
    }

    #[test]
    fn range_holds_exactly_the_subtree() {
        let c = unit_path(None, Uuid::from_u128(1));
        let v = unit_path(Some(&c), Uuid::from_u128(2));
        let s = Subtree { path: v.clone() };
        let inside = |p: &str| s.lo() <= p && p < s.hi().as_str();
        assert!(inside(&v) && inside(&unit_path(Some(&v), Uuid::from_u128(3))));
        // The parent, a sibling, and a path that only shares the id's text.
        assert!(!inside(&c) && !inside(&unit_path(Some(&c), Uuid::from_u128(4))));
        assert!(!inside(v.trim_end_matches('/')) && !inside(&format!("{}-x/", v.trim_end_matches('/'))));
        assert!(!inside(&format!("{}0", v.trim_end_matches('/'))));
    }
}
