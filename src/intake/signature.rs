//! The requester's own signature: name, department, company (external
//! requesters), employee number and phone or extension — labelled
//! (`部门：销售部`, `工号：A10023`) or the way mail clients write them
//! unlabelled (`销售部 分机8001`, `财务部 | 张三 | 13800138000`,
//! `Sales Dept. ext. 8001`).
//!
//! Invariant: a line is read as a signature line only when every part of it
//! is recognised, so a sentence of the description is never taken for one.

use std::sync::LazyLock;

use regex::Regex;

use super::redact;

/// What the signature says, masked like everything that is stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Signature {
    pub name: Option<String>,
    pub department: Option<String>,
    pub company: Option<String>,
    /// `工号 A10023`, `分机 8001`, `手机 138…`, in the order written.
    pub contacts: Vec<String>,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

static DEPARTMENT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^\s*(?:部门|所属部门|dept\.?|department)\s*[:：]\s*(\S.{0,40}?)\s*$")
});
static COMPANY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:公司|单位|工作单位|所属公司|company|organi[sz]ation)\s*[:：]\s*(\S.{0,60}?)\s*$",
    )
});
static NAME_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*(?:姓名|name)\s*[:：]\s*(\S.{0,30}?)\s*$"));
/// A labelled number anywhere in a line: the label and the number.
static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(分机号?|电话|手机|座机|tel\.?|phone|mobile|cell|ext\.?|extension)\s*[:：.]?\s*(\+?\d[\d\s()-]{1,20}\d)",
    )
});
/// 工号 / 员工号: letters and digits (`A10023`).
static EMPLOYEE_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(工号|员工号|员工编号|employee\s*(?:id|no\.?|number)|staff\s*(?:id|no\.?))\s*[:：]?\s*([A-Za-z]{0,3}-?\d{3,10})\b",
    )
});
/// An unlabelled phone: a mainland mobile or a landline with area code.
static BARE_PHONE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^\d])(1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?:$|[^\d])"));
static CHINESE_DEPARTMENT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\p{Han}{1,10}(?:部|科|处|室|中心|组|办公室|事业部)$"));
static CHINESE_COMPANY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^[\p{Han}A-Za-z0-9（）()]{2,30}(?:公司|集团|银行|医院|大学|学院|研究院|研究所|事务所)$")
});
static CHINESE_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^\p{Han}{2,4}$"));
static ENGLISH_DEPARTMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[A-Z][A-Za-z&]*\s+){1,3}(?:Dept\.?|Department)$|^(?:Dept\.?|Department)\s+of\s+[A-Z][A-Za-z& ]{1,30}$",
    )
});
/// What separates the parts of an unlabelled signature line.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| re(r"\s*[|｜/，,;；·•]\s*|\s{2,}"));

/// One recognised part of an unlabelled line.
enum Part {
    Department(String),
    Company(String),
    Name(String),
    Contact(String),
}

impl Signature {
    pub fn read(text: &str) -> Signature {
        let mut sig = Signature::default();
        for line in text.lines() {
            if let Some(parts) = parts(line) {
                for part in parts {
                    match part {
                        Part::Department(d) => {
                            sig.department.get_or_insert(d);
                        }
                        Part::Company(c) => {
                            sig.company.get_or_insert(c);
                        }
                        Part::Name(n) => {
                            sig.name.get_or_insert(n);
                        }
                        Part::Contact(c) => {
                            if !sig.contacts.contains(&c) {
                                sig.contacts.push(c);
                            }
                        }
                    }
                }
            }
        }
        let mask = |v: Option<String>| v.map(|v| redact::mask(&v));
        Signature {
            name: mask(sig.name),
            department: mask(sig.department),
            company: mask(sig.company),
            contacts: sig.contacts.iter().map(|c| redact::mask(c)).collect(),
        }
    }

    pub fn is_signature_line(line: &str) -> bool {
        parts(line).is_some()
    }

    /// The contact field of SPEC §2: employee number and numbers, joined.
    pub fn contact(&self) -> Option<String> {
        (!self.contacts.is_empty()).then(|| self.contacts.join("; "))
    }

    /// The department/company field of SPEC §2: the department, the company
    /// (an external requester), or both.
    pub fn organisation(&self) -> Option<String> {
        match (&self.department, &self.company) {
            (Some(d), Some(c)) => Some(format!("{d}（{c}）")),
            (d, c) => d.clone().or_else(|| c.clone()),
        }
    }
}

/// The parts of a signature line, or `None` when the line is not one.
fn parts(line: &str) -> Option<Vec<Part>> {
    let line = line.trim();
    if line.is_empty() || line.chars().count() > 80 {
        return None;
    }
    let labelled = |re: &Regex| re.captures(line).map(|c| c[1].trim().to_string());
    if let Some(d) = labelled(&DEPARTMENT_LINE) {
        return Some(vec![Part::Department(d)]);
    }
    if let Some(c) = labelled(&COMPANY_LINE) {
        return Some(vec![Part::Company(c)]);
    }
    if let Some(n) = labelled(&NAME_LINE) {
        return Some(vec![Part::Name(n)]);
    }
    // Numbers first, each taken out of the line; what is left must be
    // departments, companies and names, or nothing.
    let mut found = Vec::new();
    let mut rest = line.to_string();
    for (re, label) in [(&*EMPLOYEE_ID, Some("工号")), (&*CONTACT, None)] {
        let taken: Vec<(String, String)> = re
            .captures_iter(&rest)
            .map(|c| {
                let label = label.unwrap_or(&c[1]).to_string();
                (c[0].to_string(), format!("{label} {}", c[2].trim()))
            })
            .collect();
        for (whole, contact) in taken {
            rest = rest.replacen(&whole, " | ", 1);
            found.push(Part::Contact(contact));
        }
    }
    let bare: Vec<String> = BARE_PHONE
        .captures_iter(&rest)
        .map(|c| c[1].to_string())
        .collect();
    for phone in bare {
        rest = rest.replacen(&phone, " | ", 1);
        found.push(Part::Contact(phone));
    }
    let had_number = !found.is_empty();
    for segment in SEPARATOR.split(&rest) {
        let segment = segment.trim().trim_matches(|c: char| c == ':' || c == '：');
        if segment.is_empty() {
            continue;
        }
        // Chinese parts may be separated by a single space (`销售部 分机8001`).
        let pieces: Vec<&str> = if segment.chars().any(|c| c.is_ascii_alphabetic()) {
            vec![segment]
        } else {
            segment.split_whitespace().collect()
        };
        for piece in pieces {
            let part = if CHINESE_DEPARTMENT.is_match(piece) || ENGLISH_DEPARTMENT.is_match(piece) {
                Part::Department(piece.to_string())
            } else if CHINESE_COMPANY.is_match(piece) {
                Part::Company(piece.to_string())
            } else if CHINESE_NAME.is_match(piece) && had_number {
                Part::Name(piece.to_string())
            } else {
                return None;
            };
            found.push(part);
        }
    }
    // A lone department word is no signature line: the description may
    // name one (`销售部`); with a number or a second part it is.
    (had_number || found.len() >= 2).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(
        org: Option<&str>,
        contact: Option<&str>,
        name: Option<&str>,
    ) -> (Option<String>, Option<String>, Option<String>) {
        (
            org.map(String::from),
            contact.map(String::from),
            name.map(String::from),
        )
    }

    #[test]
    fn reads_signatures_as_mail_clients_write_them() {
        let cases = [
            (
                "部门：销售部\n分机：8001",
                sig(Some("销售部"), Some("分机 8001"), None),
            ),
            (
                "Dept: Sales\nExt 8001",
                sig(Some("Sales"), Some("Ext 8001"), None),
            ),
            (
                "销售部 分机8001",
                sig(Some("销售部"), Some("分机 8001"), None),
            ),
            (
                "财务部 | 张三 | 13800138000",
                sig(Some("财务部"), Some("13800138000"), Some("张三")),
            ),
            (
                "Sales Dept. ext. 8001",
                sig(Some("Sales Dept."), Some("ext. 8001"), None),
            ),
            (
                "公司：华信科技有限公司\n工号：A10023",
                sig(Some("华信科技有限公司"), Some("工号 A10023"), None),
            ),
            (
                "员工号 A10023 | 电话 010-62345678",
                sig(None, Some("工号 A10023; 电话 010-62345678"), None),
            ),
            (
                "华信科技有限公司 · 采购部 · 手机 13912345678",
                sig(
                    Some("采购部（华信科技有限公司）"),
                    Some("手机 13912345678"),
                    None,
                ),
            ),
            ("单位: 北京协和医院", sig(Some("北京协和医院"), None, None)),
            ("Employee ID: A10023", sig(None, Some("工号 A10023"), None)),
        ];
        for (text, (org, contact, name)) in cases {
            let s = Signature::read(text);
            assert_eq!(
                (s.organisation(), s.contact(), s.name.clone()),
                (org, contact, name),
                "{text}"
            );
        }
    }

    #[test]
    fn sentences_are_not_signature_lines() {
        for line in [
            "销售部的打印机坏了",
            "销售部",
            "打印机 卡纸",
            "My laptop cannot reach the Sales Dept. share",
            "错误代码 0x0000011b",
            "VPN error 809",
            "张三 李四",
            "请尽快处理，电话会议 10 点开始",
        ] {
            assert!(!Signature::is_signature_line(line), "{line}");
        }
    }
}
