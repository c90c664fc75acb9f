//! What the OpenClaw ClickClack extension (`openclaw channels add
//! clickclack --code ...`) does with a setup command before it calls the
//! server, so a test can check that a command the web app or the CLI shows
//! works exactly as printed.
//!
//! It takes `--code` as either a bare code (then `--base-url` is required)
//! or a setup URL: `https://host/#CODE`, or the exact claim endpoint
//! `https://host/api/bot-setup-codes/claim#CODE`, with no query and no
//! credentials. A code is trimmed, upper-cased, stripped of dashes and
//! spaces, and must then be 12 characters of Crockford base32.

/// The alphabet the extension requires of a setup code.
pub const SETUP_CODE_ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CLAIM_PATH: &str = "/api/bot-setup-codes/claim";

/// Where the extension would POST `{code}`, and the code it would send.
#[derive(Debug, PartialEq, Eq)]
pub struct Claim {
    pub url: String,
    pub code: String,
}

/// The code as the extension normalises it, or `None` where it refuses it.
pub fn normalize_code(typed: &str) -> Option<String> {
    let code = typed.trim().to_uppercase().replace(['-', ' '], "");
    (code.len() == 12 && code.chars().all(|c| SETUP_CODE_ALPHABET.contains(c))).then_some(code)
}

/// Reads a shown command (`openclaw channels add clickclack --code ...`)
/// as the extension would; the error says what it would refuse.
pub fn parse_command(command: &str) -> Result<Claim, String> {
    let words = shell_words(command)?;
    let prefix = ["openclaw", "channels", "add", "clickclack"];
    if words.len() < prefix.len() || words[..prefix.len()] != prefix {
        return Err(format!(
            "not an `openclaw channels add clickclack` command: {command}"
        ));
    }
    let (mut code, mut base_url) = (None, None);
    let mut rest = words[prefix.len()..].iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} without a value"))?;
        match flag.as_str() {
            "--code" => code = Some(value.clone()),
            "--base-url" => base_url = Some(value.clone()),
            other => return Err(format!("the extension has no {other} option")),
        }
    }
    let code = code.ok_or("no --code")?;
    if code.contains("://") {
        let url = url::Url::parse(&code).map_err(|error| format!("bad setup URL: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("setup URLs are http(s)".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("setup URLs must not include credentials".into());
        }
        if url.query().is_some() {
            return Err("setup URLs must not include a query".into());
        }
        let fragment = url.fragment().unwrap_or_default();
        let code = normalize_code(fragment).ok_or(format!("refused code {fragment:?}"))?;
        let mut endpoint = url.clone();
        endpoint.set_fragment(None);
        let endpoint = endpoint.as_str().to_owned();
        let url = if url.path().ends_with(CLAIM_PATH) {
            endpoint
        } else {
            format!("{}{CLAIM_PATH}", endpoint.trim_end_matches('/'))
        };
        if let Some(base) = base_url
            && !url.starts_with(base.trim_end_matches('/'))
        {
            return Err("--base-url does not match the setup URL".into());
        }
        return Ok(Claim { url, code });
    }
    let base = base_url.ok_or("a bare setup code requires --base-url")?;
    let code = code.strip_prefix('#').unwrap_or(&code);
    let code = normalize_code(code).ok_or(format!("refused code {code:?}"))?;
    Ok(Claim {
        url: format!("{}{CLAIM_PATH}", base.trim_end_matches('/')),
        code,
    })
}

/// Splits a command line the way a POSIX shell does for plain words and
/// single-quoted ones (all a shown command uses).
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let (mut words, mut word, mut quoted, mut in_word) = (Vec::new(), String::new(), false, false);
    for c in line.trim().chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            '"' | '\\' | '$' | '`' | ';' | '&' | '|' if !quoted => {
                return Err(format!("unquoted {c:?} in {line}"));
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(format!("unbalanced quote in {line}"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_the_extension_takes() {
        let claim = |url: &str| Claim {
            url: url.into(),
            code: "ABCDEFGH1234".into(),
        };
        assert_eq!(
            parse_command(
                "openclaw channels add clickclack --code 'https://chat.example/#ABCD-EFGH-1234'"
            ),
            Ok(claim("https://chat.example/api/bot-setup-codes/claim"))
        );
        assert_eq!(
            parse_command(
                "openclaw channels add clickclack --code 'https://chat.example/api/bot-setup-codes/claim#abcd-efgh-1234'"
            ),
            Ok(claim("https://chat.example/api/bot-setup-codes/claim"))
        );
        assert_eq!(
            parse_command(
                "openclaw channels add clickclack --code ABCD-EFGH-1234 --base-url http://127.0.0.1:8080"
            ),
            Ok(claim("http://127.0.0.1:8080/api/bot-setup-codes/claim"))
        );
    }

    #[test]
    fn refuses_what_the_extension_refuses() {
        for bad in [
            "openclaw channels add clickclack --url http://127.0.0.1:8080 --code ABCD-EFGH-1234",
            "openclaw channels add clickclack --code ABCD-EFGH-1234",
            "openclaw channels add clickclack --code 'https://chat.example/?x=1#ABCD-EFGH-1234'",
            "openclaw channels add clickclack --code 'https://u:p@chat.example/#ABCD-EFGH-1234'",
            "openclaw channels add clickclack --code 'https://chat.example/#BRSL-CPVR-7FCW'",
            "openclaw channels add clickclack --code 'https://chat.example/'",
        ] {
            assert!(parse_command(bad).is_err(), "{bad}");
        }
    }
}
