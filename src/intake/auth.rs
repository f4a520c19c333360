//! The sender's authenticity as a server the admin trusts judged it, from
//! `Authentication-Results` (RFC 8601). Only headers carrying the configured
//! authserv-id count: anyone can write such a header into their own mail, so
//! one from any other server is ignored.
//!
//! Invariant: pure text; never fails — an unreadable header is no verdict.

/// What the trusted server said about the `From` address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SenderAuth {
    /// No verdict from a trusted server (none configured, none found, or undecided).
    #[default]
    Unknown,
    /// DMARC passed, or SPF or DKIM passed aligned with the `From` domain.
    Pass,
    /// The `From` domain failed DMARC (or, without DMARC, SPF failed and no
    /// aligned DKIM passed): the sender is not who `From` says.
    Fail(String),
}

/// The verdict of the first `Authentication-Results` header from `trusted`
/// about a mail whose `From` address is `from`.
pub fn verdict(headers: &[String], trusted: Option<&str>, from: &str) -> SenderAuth {
    let Some(trusted) = trusted.map(str::trim).filter(|t| !t.is_empty()) else {
        return SenderAuth::Unknown;
    };
    let from_domain = from.rsplit_once('@').map_or("", |(_, d)| d).to_lowercase();
    headers
        .iter()
        .map(|h| parse(h))
        .find(|r| r.authserv_id.eq_ignore_ascii_case(trusted))
        .map_or(SenderAuth::Unknown, |r| judge(&r, &from_domain))
}

/// `ptype.property=value` pairs of one method's result, e.g. `header.d=example.com`.
type Properties = Vec<(String, String)>;

struct Results {
    authserv_id: String,
    /// (method, result, properties).
    methods: Vec<(String, String, Properties)>,
}

fn parse(header: &str) -> Results {
    let text = strip_comments(header);
    let mut parts = text.split(';');
    let authserv_id = parts
        .next()
        .and_then(|p| p.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let methods = parts
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let (method, result) = words.next()?.split_once('=')?;
            let props = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_lowercase(), v.trim_matches('"').to_lowercase()))
                .collect();
            Some((method.to_lowercase(), result.to_lowercase(), props))
        })
        .collect();
    Results {
        authserv_id,
        methods,
    }
}

fn judge(r: &Results, from_domain: &str) -> SenderAuth {
    let results = |method: &'static str| {
        r.methods
            .iter()
            .filter(move |(m, _, _)| m == method)
            .map(|(_, result, props)| (result.as_str(), props))
    };
    if let Some((result, _)) = results("dmarc").find(|(res, _)| matches!(*res, "pass" | "fail")) {
        return match result {
            "pass" => SenderAuth::Pass,
            _ => SenderAuth::Fail("dmarc=fail".into()),
        };
    }
    let aligned = |props: &Properties, keys: &[&str]| {
        props.iter().any(|(k, v)| {
            let domain = v.rsplit('@').next().unwrap_or(v);
            keys.contains(&k.as_str()) && same_organisation(domain, from_domain)
        })
    };
    let dkim_pass = results("dkim")
        .any(|(res, props)| res == "pass" && aligned(props, &["header.d", "header.i"]));
    let spf_pass = results("spf")
        .any(|(res, props)| res == "pass" && aligned(props, &["smtp.mailfrom", "smtp.helo"]));
    if dkim_pass || spf_pass {
        return SenderAuth::Pass;
    }
    if results("spf").any(|(res, _)| res == "fail") {
        return SenderAuth::Fail("spf=fail and no aligned dkim=pass".into());
    }
    SenderAuth::Unknown
}

/// Relaxed alignment: one domain is the other or below it.
fn same_organisation(a: &str, b: &str) -> bool {
    !a.is_empty()
        && !b.is_empty()
        && (a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}")))
}

/// RFC 5322 comments `( … )`, which may nest, removed.
fn strip_comments(s: &str) -> String {
    let mut depth = 0usize;
    s.chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_only_the_trusted_server() {
        let mx = Some("mx.example.com");
        let cases: &[(&[&str], Option<&str>, SenderAuth)] = &[
            (&["mx.example.com; dmarc=fail (p=reject) header.from=example.com"], mx, SenderAuth::Fail("dmarc=fail".into())),
            (&["mx.example.com; dmarc=pass header.from=example.com"], mx, SenderAuth::Pass),
            // Written by the sender, or by another server: not believed.
            (&["evil.test; dmarc=pass header.from=example.com"], mx, SenderAuth::Unknown),
            (&["mx.example.com.evil.test; dmarc=fail"], mx, SenderAuth::Unknown),
            // Nobody trusted: no verdict at all.
            (&["mx.example.com; dmarc=fail"], None, SenderAuth::Unknown),
            // The first trusted header counts (the one our server added on top).
            (&["mx.example.com 1; dmarc=fail", "mx.example.com; dmarc=pass"], mx, SenderAuth::Fail("dmarc=fail".into())),
            // Without DMARC: SPF or DKIM aligned with From.
            (&["mx.example.com; spf=pass smtp.mailfrom=alice@example.com"], mx, SenderAuth::Pass),
            (&["mx.example.com; dkim=pass header.d=mail.example.com"], mx, SenderAuth::Pass),
            (&["mx.example.com; dkim=pass header.d=evil.test; spf=fail smtp.mailfrom=evil.test"], mx, SenderAuth::Fail("spf=fail and no aligned dkim=pass".into())),
            (&["mx.example.com; spf=softfail smtp.mailfrom=evil.test"], mx, SenderAuth::Unknown),
            (&["mx.example.com; none"], mx, SenderAuth::Unknown),
            (&["garbage"], mx, SenderAuth::Unknown),
        ];
        for (headers, trusted, want) in cases {
            let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
            assert_eq!(
                verdict(&headers, *trusted, "alice@example.com"),
                *want,
                "{headers:?}"
            );
        }
    }
}
