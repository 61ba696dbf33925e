//! Kubernetes-style label selectors (`matchLabels` + `matchExpressions`), as used by
//! `serviceAllocation.namespaceSelectors` and `serviceAllocation.serviceSelectors`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A set of labels, as on a Kubernetes object's `metadata.labels`.
pub type Labels = BTreeMap<String, String>;

/// A label selector with the semantics of `metav1.LabelSelector`: every `matchLabels` pair and
/// every expression must hold. An empty selector matches every set of labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must be present with exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a [`LabelSelector`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    /// The label key the requirement applies to.
    pub key: String,
    /// How the key's value relates to `values`.
    pub operator: Operator,
    /// The values for `In` and `NotIn`; must be empty for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The operator of a [`LabelSelectorRequirement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operator {
    /// The label is present and its value is one of `values`.
    In,
    /// The label is absent, or its value is none of `values`.
    NotIn,
    /// The label is present, whatever its value.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// Why a selector is not valid (the message of [`crate::Error::InvalidSelector`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorProblem(pub String);

impl fmt::Display for SelectorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl LabelSelector {
    /// A selector that requires each of `labels`.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        LabelSelector {
            match_labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            match_expressions: Vec::new(),
        }
    }

    /// Checks the rules `metav1.LabelSelectorAsSelector` enforces: `In`/`NotIn` need at least
    /// one value, `Exists`/`DoesNotExist` take none, and keys are not empty.
    pub fn validate(&self) -> Result<(), SelectorProblem> {
        for key in self.match_labels.keys() {
            if key.is_empty() {
                return Err(SelectorProblem("matchLabels has an empty key".into()));
            }
        }
        for req in &self.match_expressions {
            if req.key.is_empty() {
                return Err(SelectorProblem("matchExpressions has an empty key".into()));
            }
            match req.operator {
                Operator::In | Operator::NotIn if req.values.is_empty() => {
                    return Err(SelectorProblem(format!(
                        "operator {:?} on key {:?} needs at least one value",
                        req.operator, req.key
                    )));
                }
                Operator::Exists | Operator::DoesNotExist if !req.values.is_empty() => {
                    return Err(SelectorProblem(format!(
                        "operator {:?} on key {:?} takes no values",
                        req.operator, req.key
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether `labels` satisfy the selector.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl LabelSelectorRequirement {
    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// Formats a label set the way `labels.Set.String()` does in Go (`k1=v1,k2=v2`, keys sorted).
/// MetalLB uses this string as the sharing "backend key" of a `Local` service.
pub fn labels_to_string(labels: &Labels) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::default().matches(&Labels::new()));
        assert!(LabelSelector::default().matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_need_exact_values() {
        let s = LabelSelector::from_labels([("team", "web")]);
        assert!(s.matches(&labels(&[("team", "web"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("team", "db")])));
        assert!(!s.matches(&Labels::new()));
    }

    #[test]
    fn each_operator() {
        let l = labels(&[("env", "prod")]);
        let none = Labels::new();
        let sel = |r| LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![r],
        };
        let in_ = sel(req("env", Operator::In, &["prod", "stage"]));
        assert!(in_.matches(&l) && !in_.matches(&none));
        let not_in = sel(req("env", Operator::NotIn, &["prod"]));
        assert!(!not_in.matches(&l) && not_in.matches(&none));
        let exists = sel(req("env", Operator::Exists, &[]));
        assert!(exists.matches(&l) && !exists.matches(&none));
        let absent = sel(req("env", Operator::DoesNotExist, &[]));
        assert!(!absent.matches(&l) && absent.matches(&none));
    }

    #[test]
    fn validation() {
        let bad = [
            req("env", Operator::In, &[]),
            req("env", Operator::NotIn, &[]),
            req("env", Operator::Exists, &["x"]),
            req("env", Operator::DoesNotExist, &["x"]),
            req("", Operator::Exists, &[]),
        ];
        for r in bad {
            let s = LabelSelector {
                match_labels: BTreeMap::new(),
                match_expressions: vec![r],
            };
            assert!(s.validate().is_err(), "{s:?}");
        }
        assert!(LabelSelector::from_labels([("", "x")]).validate().is_err());
        assert!(LabelSelector::from_labels([("a", "")]).validate().is_ok());
    }

    #[test]
    fn backend_key_format() {
        assert_eq!(
            labels_to_string(&labels(&[("b", "2"), ("a", "1")])),
            "a=1,b=2"
        );
        assert_eq!(labels_to_string(&Labels::new()), "");
    }
}
