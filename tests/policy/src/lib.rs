//! The static half of the policy tests: which AWS operations a function's code can
//! call, against the actions its policy in template.yaml allows.
//!
//! The operations are read from the built binary. Every operation of an AWS SDK crate
//! is one function, `aws_sdk_<service>::operation::<op>::<Op>::orchestrate`, and the
//! linker keeps only the functions that `main` can reach (Rust puts each function in
//! its own section and links with `--gc-sections`). So the binary's symbols list every
//! operation its code can call, whether or not a test drives that path; a method kept
//! alive only through a trait object's vtable counts too, which errs on the safe side.
//! The run-time half, `tests/tests/policies.rs`, drives each function on moto under the
//! same policy. Resources (table, index, secret ARNs) are not compared here: cfn-lint and
//! the adapter's request tests check those.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSymbol};

/// Calls made by aws-config's default credential chain, not by the function's code: it
/// can assume a role named by a profile or by a web identity token. In Lambda the chain
/// stops at the environment's credentials (the function's role) before either, and what
/// they would need is set by a role's trust policy, not by the function's own policy.
pub const CREDENTIAL_CHAIN: [&str; 2] = ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"];

/// The IAM actions (`dynamodb:GetItem`, …) of every AWS SDK operation that the binary at
/// `binary` can call, less those of the [`CREDENTIAL_CHAIN`].
///
/// # Panics
/// When the file cannot be read or parsed as an object file with symbols.
pub fn operations_in(binary: &Path) -> BTreeSet<String> {
    let data = std::fs::read(binary).unwrap_or_else(|e| panic!("read {}: {e}", binary.display()));
    let file =
        object::File::parse(&*data).unwrap_or_else(|e| panic!("parse {}: {e}", binary.display()));
    assert!(
        file.symbols().next().is_some(),
        "{} has no symbol table (a stripped build cannot be checked)",
        binary.display()
    );
    file.symbols()
        .filter_map(|symbol| symbol.name().ok().and_then(operation_action))
        .filter(|action| !CREDENTIAL_CHAIN.contains(&action.as_str()))
        .collect()
}

/// The IAM action of an SDK operation's `orchestrate` function (or anything inside it),
/// from its symbol name, mangled or not: `dynamodb:GetItem` for
/// `aws_sdk_dynamodb::operation::get_item::GetItem::orchestrate`.
pub fn operation_action(symbol: &str) -> Option<String> {
    let name = format!("{:#}", rustc_demangle::demangle(symbol));
    let rest = &name[name.find("aws_sdk_")? + "aws_sdk_".len()..];
    let mut parts = rest.split("::");
    let service = parts.next()?;
    if parts.next()? != "operation" {
        return None;
    }
    let _module = parts.next()?;
    let operation = parts.next()?;
    if parts.next()? != "orchestrate" {
        return None;
    }
    let operation = operation.split('<').next()?;
    let well_formed = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && operation.starts_with(|c: char| c.is_ascii_uppercase())
        && operation.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| format!("{service}:{operation}"))
}

/// The root of the workspace (where template.yaml is).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("template.yaml").is_file())
        .expect("template.yaml above this crate")
        .to_path_buf()
}

/// Runs `tests/iam/users.py` with the project's Python (`.venv`) on `args` then the
/// workspace's template.yaml, and answers what it printed: the one reading of the
/// template's policies that the static check and the IAM tests share.
///
/// # Panics
/// When that Python (installed by `make test-tools`) cannot run it, or it fails.
pub fn users_py(args: &[&str]) -> Vec<u8> {
    let root = workspace_root();
    let output = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/iam/users.py"))
        .args(args)
        .arg(root.join("template.yaml"))
        .output()
        .expect("run tests/iam/users.py (make test-tools installs its Python)");
    assert!(
        output.status.success(),
        "users.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Every function's allowed actions in template.yaml, by logical id, as
/// `tests/iam/users.py --actions` reads them (the same reading the run-time tests use).
///
/// # Panics
/// When [`users_py`] does.
pub fn policy_actions() -> BTreeMap<String, BTreeSet<String>> {
    serde_json::from_slice(&users_py(&["--actions"])).expect("users.py --actions prints JSON")
}

/// What differs between a binary's operations and its policy's actions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mismatch {
    /// Operations the code can call that the policy does not allow: each fails in AWS.
    pub not_allowed: BTreeSet<String>,
    /// Actions the policy allows that the code never calls: more privilege than needed.
    pub never_called: BTreeSet<String>,
}

impl Mismatch {
    /// Compares `called` with `allowed`, name by name: a wildcard action (`dynamodb:*`)
    /// is not expanded, so it shows as allowed but never called.
    pub fn between(called: &BTreeSet<String>, allowed: &BTreeSet<String>) -> Self {
        Self {
            not_allowed: called.difference(allowed).cloned().collect(),
            never_called: allowed.difference(called).cloned().collect(),
        }
    }

    /// Whether the two agree.
    pub fn is_empty(&self) -> bool {
        self.not_allowed.is_empty() && self.never_called.is_empty()
    }
}

/// Checks that `function`'s binary calls exactly the actions its policy allows.
///
/// # Panics
/// When they differ, naming the differences, or when the binary calls no AWS operation
/// at all (a reading that found nothing proves nothing).
pub fn assert_policy_matches(function: &str, binary: &Path) {
    let called = operations_in(binary);
    assert!(
        !called.is_empty(),
        "{function}: no AWS SDK operation found in {}",
        binary.display()
    );
    let policies = policy_actions();
    let allowed = policies
        .get(function)
        .unwrap_or_else(|| panic!("template.yaml has no function {function}"));
    let mismatch = Mismatch::between(&called, allowed);
    assert!(
        mismatch.is_empty(),
        "{function}: its code can call {called:?}; its policy allows {allowed:?}.\n\
         Not allowed (each fails in AWS): {:?}\nAllowed but never called: {:?}",
        mismatch.not_allowed,
        mismatch.never_called
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_named_by_its_service_and_type() {
        for (symbol, action) in [
            (
                "aws_sdk_dynamodb::operation::get_item::GetItem::orchestrate",
                Some("dynamodb:GetItem"),
            ),
            (
                "aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItem::orchestrate::{{closure}}",
                Some("dynamodb:BatchWriteItem"),
            ),
            (
                "aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValue::orchestrate",
                Some("secretsmanager:GetSecretValue"),
            ),
            // Builders, serializers and the like are not calls.
            (
                "aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder::send",
                None,
            ),
            (
                "aws_sdk_dynamodb::operation::query::Query::operation_runtime_plugins",
                None,
            ),
            ("core::ptr::drop_in_place<u8>", None),
        ] {
            assert_eq!(operation_action(symbol).as_deref(), action, "{symbol}");
        }
    }

    #[test]
    fn a_mangled_symbol_is_read_too() {
        // `aws_sdk_dynamodb::operation::query::Query::orchestrate`, legacy mangling.
        let mangled = "_ZN16aws_sdk_dynamodb9operation5query5Query11orchestrate28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE";
        assert_eq!(operation_action(mangled).as_deref(), Some("dynamodb:Query"));
    }

    #[test]
    fn both_directions_of_a_mismatch_are_named() {
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        let mismatch = Mismatch::between(
            &set(&["dynamodb:GetItem", "dynamodb:Query"]),
            &set(&["dynamodb:GetItem", "dynamodb:Scan"]),
        );
        assert_eq!(mismatch.not_allowed, set(&["dynamodb:Query"]));
        assert_eq!(mismatch.never_called, set(&["dynamodb:Scan"]));
        assert!(!mismatch.is_empty());
    }
}
