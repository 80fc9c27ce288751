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

use crate::yaml::Node;

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

/// Keys a function config may hold; anything else is an error (a typo must not be ignored).
const KEYS: [&str; 3] = ["scope", "namespace", "seed"];

/// Reads settings from a function config node. Unknown keys are errors.
pub fn from_function_config(fc: &Node) -> Result<FunctionSettings, String> {
    let body = fc.get("spec").or_else(|| fc.get("data"));
    let mut out = FunctionSettings::default();
    let Some(Node::Map(m)) = body else {
        return Ok(out);
    };
    for (k, v) in &m.entries {
        let key = k.scalar().map(|s| s.value.as_str()).unwrap_or("");
        let Some(val) = v.scalar().map(|s| s.value.clone()) else {
            return Err(format!("functionConfig `{key}` must be a string"));
        };
        match key {
            "scope" => out.scope = Some(val),
            "namespace" => out.namespace = Some(val),
            "seed" => out.seed = Some(PathBuf::from(val)),
            _ => {
                return Err(format!(
                    "unknown functionConfig key `{key}` (expected one of: {})",
                    KEYS.join(", ")
                ))
            }
        }
    }
    Ok(out)
}

/// The `functionConfig` of a ResourceList document, if the document is one.
pub fn resource_list_config(root: &Node) -> Option<Option<&Node>> {
    (root.get_str("kind") == Some("ResourceList")).then(|| root.get("functionConfig"))
}

/// Reads a legacy kustomize exec plugin config file (`kind: KeyseedTransformer`).
pub fn from_legacy_config(text: &str) -> Result<FunctionSettings, String> {
    let roots =
        crate::yaml::parse(text).map_err(|e| format!("plugin config is not valid YAML: {e}"))?;
    let root = roots.first().ok_or("plugin config is empty")?;
    match root.get_str("kind") {
        Some("KeyseedTransformer") => from_function_config(root),
        other => Err(format!(
            "plugin config has kind `{}`, expected `KeyseedTransformer`",
            other.unwrap_or("")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spec_or_data_and_rejects_typos() {
        let n = &crate::yaml::parse("kind: X\nspec:\n  scope: prod\n  seed: a/keyseed.age\n")
            .unwrap()[0];
        let s = from_function_config(n).unwrap();
        assert_eq!(s.scope.as_deref(), Some("prod"));
        assert_eq!(s.seed, Some(PathBuf::from("a/keyseed.age")));
        let n = &crate::yaml::parse("kind: ConfigMap\ndata: {namespace: ns}\n").unwrap()[0];
        assert_eq!(
            from_function_config(n).unwrap().namespace.as_deref(),
            Some("ns")
        );
        let n = &crate::yaml::parse("kind: X\nspec: {scpe: prod}\n").unwrap()[0];
        assert!(from_function_config(n).unwrap_err().contains("scpe"));
    }
}
