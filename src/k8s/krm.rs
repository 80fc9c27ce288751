//! kustomize and kpt: settings from a KRM function's `functionConfig`, and from a legacy exec
//! plugin's config file (KRM Functions Specification,
//! <https://github.com/kubernetes-sigs/kustomize/blob/master/cmd/config/docs/api-conventions/functions-spec.md>).
//!
//! The `ResourceList` itself needs no special handling: keyseed edits the bytes of its
//! `items` like any other document, so `config.kubernetes.io/*` and
//! `internal.config.kubernetes.io/*` annotations pass through untouched. On failure keyseed
//! exits non-zero with the findings on stderr and writes nothing (kustomize ignores a
//! `results` list that comes with exit 0, so results alone would not fail a build).

use std::path::PathBuf;

use crate::manifest::yaml::{self, Node};

/// A function or plugin config keyseed cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KrmError {
    /// A setting is not a string.
    #[error("functionConfig `{0}` must be a string")]
    NotAString(String),
    /// A key keyseed does not know (a typo must not be ignored).
    #[error("unknown functionConfig key `{0}` (expected one of: scope, namespace, seed)")]
    UnknownKey(String),
    /// The legacy plugin config does not parse.
    #[error("plugin config is not valid YAML")]
    Yaml(#[source] yaml::ParseError),
    /// The legacy plugin config is empty.
    #[error("plugin config is empty")]
    Empty,
    /// The legacy plugin config is of another kind.
    #[error("plugin config has kind `{0}`, expected `KeyseedTransformer`")]
    Kind(String),
    /// The function config and `keyseed.yaml` set different scopes: the same keyseed.yaml
    /// would give other values in this host than in the others.
    #[error("the function config sets `scope: {function}` but keyseed.yaml sets `scope: {config}`; one configuration must give the same values in every host")]
    ScopeConflict {
        /// The function config's scope.
        function: String,
        /// keyseed.yaml's scope.
        config: String,
    },
}

/// Settings a function config may carry (`spec:` of a custom resource, or `data:` of a
/// ConfigMap): `scope`, `namespace`, `seed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionSettings {
    /// Derivation scope.
    pub scope: Option<String>,
    /// Namespace for resources without one.
    pub namespace: Option<String>,
    /// Seed file, relative to the working directory (the kustomization root).
    pub seed: Option<PathBuf>,
}

/// Reads settings from a function config node. Unknown keys are errors.
pub fn from_function_config(fc: &Node) -> Result<FunctionSettings, KrmError> {
    let body = fc.get("spec").or_else(|| fc.get("data"));
    let mut out = FunctionSettings::default();
    let Some(Node::Map(m)) = body else {
        return Ok(out);
    };
    for (k, v) in &m.entries {
        let key = k.scalar().map(|s| s.value.as_str()).unwrap_or("");
        let Some(val) = v.scalar().map(|s| s.value.clone()) else {
            return Err(KrmError::NotAString(key.to_string()));
        };
        match key {
            // An empty value sets nothing (keyseed.yaml or the defaults decide).
            "scope" => out.scope = Some(val).filter(|v| !v.is_empty()),
            "namespace" => out.namespace = Some(val).filter(|v| !v.is_empty()),
            "seed" => out.seed = Some(PathBuf::from(val)),
            _ => return Err(KrmError::UnknownKey(key.to_string())),
        }
    }
    Ok(out)
}

/// The `functionConfig` of a ResourceList document, if the document is one.
pub fn resource_list_config(root: &Node) -> Option<Option<&Node>> {
    (root.get_str("kind") == Some("ResourceList")).then(|| root.get("functionConfig"))
}

/// Reads a legacy kustomize exec plugin config file (`kind: KeyseedTransformer`).
pub fn from_legacy_config(text: &str) -> Result<FunctionSettings, KrmError> {
    let roots = yaml::parse(text).map_err(KrmError::Yaml)?;
    let root = roots.first().ok_or(KrmError::Empty)?;
    match root.get_str("kind") {
        Some("KeyseedTransformer") => from_function_config(root),
        other => Err(KrmError::Kind(other.unwrap_or("").to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spec_or_data_and_rejects_typos() {
        let n =
            &crate::manifest::yaml::parse("kind: X\nspec:\n  scope: prod\n  seed: a/keyseed.age\n")
                .unwrap()[0];
        let s = from_function_config(n).unwrap();
        assert_eq!(s.scope.as_deref(), Some("prod"));
        assert_eq!(s.seed, Some(PathBuf::from("a/keyseed.age")));
        let n =
            &crate::manifest::yaml::parse("kind: ConfigMap\ndata: {namespace: ns}\n").unwrap()[0];
        assert_eq!(
            from_function_config(n).unwrap().namespace.as_deref(),
            Some("ns")
        );
        let n = &crate::manifest::yaml::parse("kind: X\nspec: {scpe: prod}\n").unwrap()[0];
        assert_eq!(
            from_function_config(n).unwrap_err(),
            KrmError::UnknownKey("scpe".into())
        );
    }
}
