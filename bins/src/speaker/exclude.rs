//! Upstream's Layer 2 interface exclusion file (`/etc/metallb/excludel2.yaml`, from the
//! `metallb-excludel2` ConfigMap): `announcedInterfacesToExclude: [regex, ...]`.
//!
//! The interface filter of lb-l2 matches names by exact name, prefix or substring, which covers
//! every entry of upstream's default list (`^docker.*`, `^lo$`, ...); an expression outside
//! those shapes is reported and skipped rather than guessed at.

use lb_l2::netlink::NamePattern;

/// What [`parse`] could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExcludeError {
    /// The file is not the expected YAML.
    #[error("excludel2: {0}")]
    Yaml(String),
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(default)]
    announced_interfaces_to_exclude: Vec<String>,
}

/// One upstream regular expression as a name pattern, if it has one of the shapes `^name$`,
/// `^prefix`, `^prefix.*` or a plain substring.
pub fn pattern(regex: &str) -> Option<NamePattern> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@'))
    };
    if let Some(rest) = regex.strip_prefix('^') {
        if let Some(name) = rest.strip_suffix('$') {
            return plain(name).then(|| NamePattern::Exact(name.to_owned()));
        }
        let prefix = rest.strip_suffix(".*").unwrap_or(rest);
        return plain(prefix).then(|| NamePattern::Prefix(prefix.to_owned()));
    }
    let inner = regex.strip_prefix(".*").unwrap_or(regex);
    let inner = inner.strip_suffix(".*").unwrap_or(inner);
    plain(inner).then(|| NamePattern::Contains(inner.to_owned()))
}

/// The patterns of an excludel2 file, and the expressions that have no pattern.
pub fn parse(text: &str) -> Result<(Vec<NamePattern>, Vec<String>), ExcludeError> {
    let file: File = serde_saphyr::from_str(text).map_err(|e| ExcludeError::Yaml(e.to_string()))?;
    let mut patterns = Vec::new();
    let mut skipped = Vec::new();
    for regex in file.announced_interfaces_to_exclude {
        match pattern(&regex) {
            Some(p) => patterns.push(p),
            None => skipped.push(regex),
        }
    }
    Ok((patterns, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_default_list_maps_entirely() {
        let text = r#"announcedInterfacesToExclude: ["^docker.*", "^cbr.*", "^dummy.*", "^virbr.*", "^lxcbr.*", "^veth.*", "^lo$", "^cali.*", "^tunl.*", "^flannel.*", "^kube-ipvs.*", "^cni.*", "^nodelocaldns.*"]"#;
        let (patterns, skipped) = parse(text).expect("parses");
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(patterns.len(), 13);
        assert_eq!(patterns[0], NamePattern::Prefix("docker".into()));
        assert_eq!(patterns[6], NamePattern::Exact("lo".into()));
    }

    #[test]
    fn other_shapes_are_skipped_not_guessed() {
        let (patterns, skipped) =
            parse("announcedInterfacesToExclude: ['eth[0-9]+', 'bond', '^br-.*']").expect("parses");
        assert_eq!(skipped, vec!["eth[0-9]+".to_string()]);
        assert_eq!(
            patterns,
            vec![
                NamePattern::Contains("bond".into()),
                NamePattern::Prefix("br-".into())
            ]
        );
        assert!(parse("[1, 2").is_err());
        assert_eq!(parse("{}").expect("empty").0, Vec::<NamePattern>::new());
    }
}
