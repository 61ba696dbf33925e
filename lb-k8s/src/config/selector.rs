//! `metav1.LabelSelector` from the CRDs → lb-ipam's validated [`LabelSelector`], with the rules
//! upstream's parser applies to every selector list.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use lb_ipam::{LabelSelector, LabelSelectorRequirement, Labels, Operator};

use crate::error::{Error, ObjectRef, Problem};

/// Converts and validates one selector: known operators, values as the operator needs, no
/// expression twice, no value twice in one expression.
pub(crate) fn selector(
    object: &ObjectRef,
    field: &str,
    s: &meta::LabelSelector,
) -> Result<LabelSelector, Error> {
    let invalid = |why: String| Error::invalid(object, field, Problem::InvalidSelector(why));
    let mut out = LabelSelector {
        match_labels: s.match_labels.clone().unwrap_or_default(),
        match_expressions: Vec::new(),
    };
    for e in s.match_expressions.iter().flatten() {
        let operator = match e.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => return Err(invalid(format!("unknown operator {other:?}"))),
        };
        let values = e.values.clone().unwrap_or_default();
        let mut seen = BTreeSet::new();
        for v in &values {
            if !seen.insert(v) {
                return Err(invalid(format!("value {v:?} repeated for key {:?}", e.key)));
            }
        }
        let req = LabelSelectorRequirement {
            key: e.key.clone(),
            operator,
            values,
        };
        if out.match_expressions.contains(&req) {
            return Err(invalid(format!("expression on key {:?} repeated", e.key)));
        }
        out.match_expressions.push(req);
    }
    out.validate().map_err(|p| invalid(p.to_string()))?;
    Ok(out)
}

/// Converts a selector list; two selectors that render to the same text are an error.
pub(crate) fn selectors(
    object: &ObjectRef,
    field: &str,
    list: &[meta::LabelSelector],
) -> Result<Vec<LabelSelector>, Error> {
    let mut out = Vec::with_capacity(list.len());
    let mut rendered = BTreeSet::new();
    for (i, s) in list.iter().enumerate() {
        let here = format!("{field}[{i}]");
        let sel = selector(object, &here, s)?;
        let text = render(&sel);
        if !rendered.insert(text.clone()) {
            return Err(Error::invalid(
                object,
                here,
                Problem::DuplicateSelector(text),
            ));
        }
        out.push(sel);
    }
    Ok(out)
}

/// The selector as text, requirements sorted (Go's `labels.Selector.String()` shape).
pub(crate) fn render(s: &LabelSelector) -> String {
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in &s.match_expressions {
        let mut values = r.values.clone();
        values.sort();
        parts.push(match r.operator {
            Operator::In => format!("{} in ({})", r.key, values.join(",")),
            Operator::NotIn => format!("{} notin ({})", r.key, values.join(",")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
        });
    }
    parts.sort();
    parts.join(",")
}

/// Whether any selector of `list` matches (an empty list matches everything).
pub(crate) fn any_matches(list: &[LabelSelector], labels: &Labels) -> bool {
    list.is_empty() || list.iter().any(|s| s.matches(labels))
}

/// Rejects a repeated entry in a list of names.
pub(crate) fn unique_names(object: &ObjectRef, field: &str, list: &[String]) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for (i, n) in list.iter().enumerate() {
        if !seen.insert(n) {
            return Err(Error::invalid(
                object,
                format!("{field}[{i}]"),
                Problem::Repeated(n.clone()),
            ));
        }
    }
    Ok(())
}
