//! The employee directory: who a sender is (name, department, contact), looked
//! up by email address or chat user id.
//!
//! Invariant: every person has an email or a chat user id, and no address or id
//! belongs to two people — checked once at load, so lookups are unambiguous.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub email: Option<String>,
    pub name: Option<String>,
    pub department: Option<String>,
    /// An external requester's company (公司/单位).
    pub company: Option<String>,
    /// 工号, letters and digits (`A10023`).
    pub employee_id: Option<String>,
    /// Extension or phone.
    pub contact: Option<String>,
    pub chat_user: Option<String>,
}

impl Person {
    /// The department/company field: the department, the company, or both.
    pub fn organisation(&self) -> Option<String> {
        match (&self.department, &self.company) {
            (Some(d), Some(c)) => Some(format!("{d}（{c}）")),
            (d, c) => d.clone().or_else(|| c.clone()),
        }
    }

    /// The contact field: the employee number and the extension or phone.
    pub fn contact_field(&self) -> Option<String> {
        let parts: Vec<String> = self
            .employee_id
            .iter()
            .map(|id| format!("工号 {id}"))
            .chain(self.contact.clone())
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    people: Vec<Person>,
    /// Lower-cased email → index into `people`.
    by_email: HashMap<String, usize>,
    by_chat_user: HashMap<String, usize>,
}

#[derive(Debug, Error)]
pub enum DirectoryError {
    #[error("cannot read the employee directory {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the employee directory {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the employee directory {path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    person: Vec<Person>,
}

impl Directory {
    pub fn load(path: &Path) -> Result<Directory, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: File = toml::from_str(&text).map_err(|e| DirectoryError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Directory::new(file.person).map_err(|problem| DirectoryError::Invalid {
            path: path.to_path_buf(),
            problem,
        })
    }

    fn new(people: Vec<Person>) -> Result<Directory, String> {
        let mut dir = Directory {
            people,
            ..Directory::default()
        };
        for (i, p) in dir.people.iter_mut().enumerate() {
            let n = i + 1;
            p.email = p
                .email
                .take()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty());
            p.chat_user = p
                .chat_user
                .take()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
            if p.email.is_none() && p.chat_user.is_none() {
                return Err(format!(
                    "[[person]] number {n} has neither email nor chat_user"
                ));
            }
            for (key, map, what) in [
                (&p.email, &mut dir.by_email, "email"),
                (&p.chat_user, &mut dir.by_chat_user, "chat_user"),
            ] {
                if let Some(key) = key {
                    if let Some(first) = map.insert(key.clone(), i) {
                        return Err(format!(
                            "{what} {key:?} appears in [[person]] {} and {n}",
                            first + 1
                        ));
                    }
                }
            }
        }
        Ok(dir)
    }

    /// Case-insensitive, as mail addresses are in practice.
    pub fn by_email(&self, addr: &str) -> Option<&Person> {
        self.by_email
            .get(&addr.trim().to_lowercase())
            .map(|&i| &self.people[i])
    }

    pub fn by_chat_user(&self, id: &str) -> Option<&Person> {
        self.by_chat_user.get(id.trim()).map(|&i| &self.people[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Directory, DirectoryError> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        Directory::load(file.path())
    }

    #[test]
    fn loads_and_looks_up() {
        let dir = load(
            r#"
[[person]]
email = "ZhangSan@Example.com"
name = "张三"
department = "销售部"
contact = "ext 8001"
chat_user = "123456789"

[[person]]
chat_user = "987"
name = "Li Si"

[[person]]
email = "wang@partner.example"
name = "王五"
company = "华信科技有限公司"
employee_id = "A10023"
contact = "13800138000"
"#,
        )
        .unwrap();
        let zhang = dir.by_email("zhangsan@example.COM").unwrap();
        assert_eq!(zhang.name.as_deref(), Some("张三"));
        assert_eq!(zhang.department.as_deref(), Some("销售部"));
        assert_eq!(dir.by_chat_user("123456789"), Some(zhang));
        assert_eq!(
            dir.by_chat_user("987").and_then(|p| p.name.as_deref()),
            Some("Li Si")
        );
        assert_eq!(dir.by_email("nobody@example.com"), None);
        let wang = dir.by_email("wang@partner.example").unwrap();
        assert_eq!(wang.organisation().as_deref(), Some("华信科技有限公司"));
        assert_eq!(
            wang.contact_field().as_deref(),
            Some("工号 A10023; 13800138000")
        );
        assert_eq!(zhang.organisation().as_deref(), Some("销售部"));
        assert_eq!(Directory::default().by_email("zhangsan@example.com"), None);
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        let cases = [
            ("[[person]]\nname = \"x\"", "neither email nor chat_user"),
            (
                "[[person]]\nemail = \"a@x\"\n[[person]]\nemail = \"A@x\"",
                "appears in [[person]] 1 and 2",
            ),
            ("[[person]]\nemial = \"a@x\"", "emial"),
            ("[[person]\n", "not valid TOML"),
        ];
        for (text, needle) in cases {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        let missing = Directory::load(Path::new("/nonexistent/people.toml")).unwrap_err();
        assert!(matches!(missing, DirectoryError::Read { .. }), "{missing}");
    }
}
