//! Kubernetes-style label selectors (`matchLabels` + `matchExpressions`), as used by
//! `serviceAllocation.namespaceSelectors` and `serviceAllocation.serviceSelectors`.

use std::collections::BTreeMap;

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

/// What is wrong with a label selector (see [`LabelSelector::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorProblem {
    /// A label key is not a Kubernetes qualified name: an optional DNS subdomain prefix of at
    /// most 253 characters and a `/`, then a name of 1 to 63 characters, alphanumeric at both
    /// ends with `-`, `_` and `.` inside.
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey {
        /// The key as written.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A label value is longer than 63 characters or not alphanumeric at both ends with `-`,
    /// `_` and `.` inside (an empty value is valid).
    #[error("invalid label value {value:?}: {reason}")]
    InvalidValue {
        /// The value as written.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// `In` or `NotIn` without values.
    #[error("values must be given when the operator is {0:?}")]
    ValuesRequired(Operator),
    /// `Exists` or `DoesNotExist` with values.
    #[error("values must not be given when the operator is {0:?}")]
    ValuesForbidden(Operator),
    /// A value appears twice in one expression (a MetalLB rule).
    #[error("value {0:?} is listed twice")]
    DuplicateValue(String),
    /// The expression repeats `matchExpressions[index]` (a MetalLB rule; value order does not
    /// count).
    #[error("duplicate of matchExpressions[{index}]")]
    DuplicateExpression {
        /// The earlier expression.
        index: usize,
    },
    /// The selector repeats the one at `index` in the same list (a MetalLB rule; value order
    /// does not count).
    #[error("duplicate of selector [{index}]")]
    DuplicateSelector {
        /// The earlier selector.
        index: usize,
    },
}

/// An invalid label selector: the field, as a path from the selector (`matchLabels["k"]`,
/// `matchExpressions[0].values[1]`), and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct SelectorError {
    /// Path of the offending field, relative to the selector.
    pub field: String,
    /// What is wrong with it.
    pub problem: SelectorProblem,
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

    /// Checks the selector as the API server and MetalLB do, and reports the first problem
    /// with the field it is in:
    ///
    /// - Kubernetes (apimachinery's `ValidateLabelSelector` and `labels.NewRequirement`): every
    ///   key is a qualified name and every value a valid label value, in `matchLabels` and in
    ///   `matchExpressions`; `In`/`NotIn` need at least one value and `Exists`/`DoesNotExist`
    ///   take none.
    /// - MetalLB's configuration parser: no value twice in one expression and no expression
    ///   twice in one selector (values compared as sets). Kubernetes itself accepts both.
    pub fn validate(&self) -> Result<(), SelectorError> {
        let fail = |field: String, problem| Err(SelectorError { field, problem });
        for (key, value) in &self.match_labels {
            let field = || format!("matchLabels[{key:?}]");
            if let Err(reason) = check_key(key) {
                return fail(
                    field(),
                    SelectorProblem::InvalidKey {
                        key: key.clone(),
                        reason,
                    },
                );
            }
            if let Err(reason) = check_value(value) {
                return fail(
                    field(),
                    SelectorProblem::InvalidValue {
                        value: value.clone(),
                        reason,
                    },
                );
            }
        }
        for (i, req) in self.match_expressions.iter().enumerate() {
            let field = |rest: &str| format!("matchExpressions[{i}]{rest}");
            if let Err(reason) = check_key(&req.key) {
                return fail(
                    field(".key"),
                    SelectorProblem::InvalidKey {
                        key: req.key.clone(),
                        reason,
                    },
                );
            }
            match req.operator {
                Operator::In | Operator::NotIn if req.values.is_empty() => {
                    return fail(
                        field(".values"),
                        SelectorProblem::ValuesRequired(req.operator),
                    );
                }
                Operator::Exists | Operator::DoesNotExist if !req.values.is_empty() => {
                    return fail(
                        field(".values"),
                        SelectorProblem::ValuesForbidden(req.operator),
                    );
                }
                _ => {}
            }
            for (j, value) in req.values.iter().enumerate() {
                let at = || field(&format!(".values[{j}]"));
                if let Err(reason) = check_value(value) {
                    return fail(
                        at(),
                        SelectorProblem::InvalidValue {
                            value: value.clone(),
                            reason,
                        },
                    );
                }
                if req.values[..j].contains(value) {
                    return fail(at(), SelectorProblem::DuplicateValue(value.clone()));
                }
            }
            if let Some(index) = self.match_expressions[..i]
                .iter()
                .position(|earlier| earlier.same_as(req))
            {
                return fail(field(""), SelectorProblem::DuplicateExpression { index });
            }
        }
        Ok(())
    }

    /// Whether the two select alike as MetalLB compares selectors: the same `matchLabels` and
    /// the same expressions in the same order, each expression's values taken as a set.
    pub(crate) fn same_as(&self, other: &LabelSelector) -> bool {
        self.match_labels == other.match_labels
            && self.match_expressions.len() == other.match_expressions.len()
            && self
                .match_expressions
                .iter()
                .zip(&other.match_expressions)
                .all(|(a, b)| a.same_as(b))
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
    /// Same key and operator, and the same set of values.
    fn same_as(&self, other: &LabelSelectorRequirement) -> bool {
        fn sorted(v: &[String]) -> Vec<&str> {
            let mut v: Vec<&str> = v.iter().map(String::as_str).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
        self.key == other.key
            && self.operator == other.operator
            && sorted(&self.values) == sorted(&other.values)
    }

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

/// Largest name part of a label key, and largest label value (`validation.LabelValueMaxLength`).
const NAME_MAX: usize = 63;
/// Largest prefix of a label key (`validation.DNS1123SubdomainMaxLength`).
const PREFIX_MAX: usize = 253;

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS-1123 subdomain.
fn check_key(key: &str) -> Result<(), &'static str> {
    let (prefix, name) = match key.split_once('/') {
        None => (None, key),
        Some((_, name)) if name.contains('/') => {
            return Err("a qualified name has at most one '/'");
        }
        Some((prefix, name)) => (Some(prefix), name),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err("the prefix before '/' is empty");
        }
        if prefix.len() > PREFIX_MAX {
            return Err("the prefix is longer than 253 characters");
        }
        if !prefix.split('.').all(is_dns_label) {
            return Err(
                "the prefix is not a DNS subdomain (lower-case alphanumerics, '-' and '.', alphanumeric at both ends of each label)",
            );
        }
    }
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > NAME_MAX {
        return Err("the name is longer than 63 characters");
    }
    if !is_label_text(name) {
        return Err("the name must be alphanumerics, '-', '_' and '.', alphanumeric at both ends");
    }
    Ok(())
}

/// `IsValidLabelValue`: empty, or at most 63 characters of `[-A-Za-z0-9_.]` that begin and
/// end alphanumeric.
fn check_value(value: &str) -> Result<(), &'static str> {
    if value.len() > NAME_MAX {
        return Err("longer than 63 characters");
    }
    if !value.is_empty() && !is_label_text(value) {
        return Err("must be alphanumerics, '-', '_' and '.', alphanumeric at both ends");
    }
    Ok(())
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn is_label_text(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// One label of a DNS-1123 subdomain: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => ok(f) && ok(l) && b.iter().all(|c| ok(c) || *c == b'-'),
        _ => false,
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
