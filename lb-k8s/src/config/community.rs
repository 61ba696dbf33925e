//! BGP community values and `Community` aliases.

use std::collections::BTreeMap;
use std::fmt;

use crate::crd;
use crate::error::{Error, ObjectRef, Problem};

/// A community an advertisement attaches to its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommunityValue {
    /// RFC 1997 `A:B`, two 16-bit halves (`COMMUNITIES`).
    Standard(u16, u16),
    /// RFC 8092 `large:A:B:C` (`LARGE_COMMUNITY`).
    Large(u32, u32, u32),
}

impl CommunityValue {
    /// The RFC 1997 value as one 32-bit number, for standard communities.
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            CommunityValue::Standard(a, b) => Some(u32::from(*a) << 16 | u32::from(*b)),
            CommunityValue::Large(..) => None,
        }
    }
}

impl fmt::Display for CommunityValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommunityValue::Standard(a, b) => write!(f, "{a}:{b}"),
            CommunityValue::Large(a, b, c) => write!(f, "large:{a}:{b}:{c}"),
        }
    }
}

/// Why a string is not a community value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Wrong number of `:`-separated fields (may be an alias not defined yet).
    Wrong,
    /// The right fields, but a number out of range or not a number.
    BadNumber,
}

/// Parses `A:B` or `large:A:B:C`.
pub(crate) fn parse_value(s: &str) -> Result<CommunityValue, Shape> {
    let fields: Vec<&str> = s.split(':').collect();
    match fields.as_slice() {
        [a, b] => Ok(CommunityValue::Standard(
            a.parse().map_err(|_| Shape::BadNumber)?,
            b.parse().map_err(|_| Shape::BadNumber)?,
        )),
        ["large", a, b, c] => Ok(CommunityValue::Large(
            a.parse().map_err(|_| Shape::BadNumber)?,
            b.parse().map_err(|_| Shape::BadNumber)?,
            c.parse().map_err(|_| Shape::BadNumber)?,
        )),
        _ => Err(Shape::Wrong),
    }
}

/// The aliases of every `Community` object (given in name order). Alias names are unique
/// across all objects.
pub(crate) fn aliases(
    objects: &[&crd::Community],
) -> Result<BTreeMap<String, CommunityValue>, Error> {
    let mut out = BTreeMap::new();
    for c in objects {
        let object = ObjectRef::new("Community", c.metadata.name.clone().unwrap_or_default());
        for (i, alias) in c.spec.communities.iter().enumerate() {
            let value = parse_value(&alias.value).map_err(|_| {
                Error::invalid(
                    &object,
                    format!("spec.communities[{i}].value"),
                    Problem::InvalidCommunity(alias.value.clone()),
                )
            })?;
            if out.insert(alias.name.clone(), value).is_some() {
                return Err(Error::invalid(
                    &object,
                    format!("spec.communities[{i}].name"),
                    Problem::DuplicateName(alias.name.clone()),
                ));
            }
        }
    }
    Ok(out)
}

/// Resolves one string of `BGPAdvertisement.communities`: an alias, else a value.
pub(crate) fn resolve(
    object: &ObjectRef,
    field: String,
    s: &str,
    aliases: &BTreeMap<String, CommunityValue>,
) -> Result<CommunityValue, Error> {
    if let Some(v) = aliases.get(s) {
        return Ok(*v);
    }
    parse_value(s).map_err(|shape| {
        let problem = match shape {
            Shape::Wrong => Problem::UnknownCommunity(s.into()),
            Shape::BadNumber => Problem::InvalidCommunity(s.into()),
        };
        Error::invalid(object, field, problem)
    })
}
