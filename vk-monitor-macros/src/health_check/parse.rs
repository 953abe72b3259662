//! The arguments of `#[health_check(...)]`, typed: each checked on its own, every problem
//! reported at once and spanned on the offending argument. A timeout is checked here, so that a
//! typo in it is a compile error rather than a check that never runs as meant.

use proc_macro2::{Ident, Span, TokenStream};
use syn::spanned::Spanned;
use syn::{LitBool, LitStr, Path};

use crate::args::{ParseArgs, RawArg, parse_label, parse_path, set_once};

const EXPECTED: &str = "expected one of `name`, `kind`, `timeout`, `critical`, `crate`";

/// `kind = ...`: which probe serves the check.
#[derive(Clone, Copy)]
pub enum Kind {
    Liveness,
    Readiness,
    Startup,
}

impl Kind {
    fn parse(value: TokenStream) -> Option<Self> {
        let ident: Ident = syn::parse2(value).ok()?;
        match &*ident.to_string() {
            "liveness" => Some(Kind::Liveness),
            "readiness" => Some(Kind::Readiness),
            "startup" => Some(Kind::Startup),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct HealthArgs {
    pub name: Option<LitStr>,
    pub kind: Option<Kind>,
    pub timeout_ms: Option<(u64, Span)>,
    pub critical: Option<LitBool>,
    pub krate: Option<Path>,
}

impl ParseArgs for HealthArgs {
    fn accept(&mut self, arg: RawArg) -> syn::Result<()> {
        let key = arg.known_key(&["name", "kind", "timeout", "critical", "crate"], EXPECTED)?;
        arg.require_value(&key)?;
        let span = arg.value.span();
        match key.as_str() {
            "name" => set_once(&mut self.name, &arg.key, parse_label(arg.value, "name")?),
            "crate" => set_once(&mut self.krate, &arg.key, parse_path(arg.value, "crate")?),
            "kind" => {
                let kind = Kind::parse(arg.value).ok_or_else(|| {
                    syn::Error::new(span, "`kind` is one of `liveness`, `readiness`, `startup`")
                })?;
                set_once(&mut self.kind, &arg.key, kind)
            }
            "timeout" => {
                let lit: LitStr = syn::parse2(arg.value).map_err(|_| {
                    syn::Error::new(
                        span,
                        "`timeout` takes a duration string such as \"500ms\", \"2s\" or \"1m\"",
                    )
                })?;
                let millis = parse_duration_ms(&lit.value())
                    .map_err(|why| syn::Error::new(lit.span(), why))?;
                set_once(&mut self.timeout_ms, &arg.key, (millis, lit.span()))
            }
            _ => {
                let critical: LitBool = syn::parse2(arg.value)
                    .map_err(|_| syn::Error::new(span, "`critical` takes `true` or `false`"))?;
                set_once(&mut self.critical, &arg.key, critical)
            }
        }
    }
}

/// `"500ms"`, `"2s"`, `"1m"` → milliseconds.
fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => {
            return Err(format!(
                "`{text}` needs a unit: ms, s or m, as in \"500ms\""
            ));
        }
    };
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("`{text}` is not a whole number of ms, s or m"))?;
    if millis == 0 {
        return Err("a timeout of zero would fail every run".into());
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations_take_ms_s_and_m() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2s"), Ok(2_000));
        assert_eq!(parse_duration_ms("1m"), Ok(60_000));
        assert!(parse_duration_ms("500").is_err());
        assert!(parse_duration_ms("1.5s").is_err());
        assert!(parse_duration_ms("0ms").is_err());
        assert!(parse_duration_ms("2h").is_err());
    }
}
