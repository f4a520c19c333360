//! Attachments: which parts are kept, under what name, within which limits,
//! and which file endings are refused. Separate because it decides what
//! reaches the disk, not what the ticket says.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::charset::transfer_decoded;
use super::EmailLimits;
use crate::intake::{InboundAttachment, NotKept, Warning};

/// Endings of files that carry programs or scripts, refused by default.
pub const DEFAULT_ATTACHMENT_DENY: &[&str] = &[
    ".exe", ".com", ".scr", ".pif", ".bat", ".cmd", ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh",
    ".ps1", ".psm1", ".msi", ".msp", ".hta", ".cpl", ".jar", ".lnk", ".reg", ".dll", ".iso",
    ".img", ".vhd", ".vhdx",
];

/// The denied ending `name` has, if any. Windows drops trailing dots and
/// spaces, so `invoice.pdf.exe. ` is an `.exe` too; `invoice.pdf.exe` is
/// caught by its last ending whatever comes before it.
fn denied_extension(name: &str, deny: &[String]) -> Option<String> {
    let name = name.trim_end_matches(['.', ' ']).to_lowercase();
    deny.iter()
        .map(|d| d.trim().to_lowercase())
        .map(|d| {
            if d.starts_with('.') {
                d
            } else {
                format!(".{d}")
            }
        })
        .find(|d| name.ends_with(d.as_str()))
}

pub(super) fn attachments(
    msg: &Message,
    limits: &EmailLimits,
    skip: &[u32],
) -> (Vec<InboundAttachment>, Vec<Warning>) {
    let (mut kept, mut warnings, mut total) = (Vec::new(), Vec::new(), 0u64);
    let parts = msg
        .attachments
        .iter()
        .filter(|id| !skip.contains(id))
        .filter_map(|&id| msg.part(id));
    for (n, part) in parts.enumerate() {
        let mut data = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Text(t) | PartType::Html(t) => {
                transfer_decoded(msg, part).unwrap_or_else(|| t.as_bytes().to_vec())
            }
            PartType::Message(m) => m.raw_message().to_vec(),
            PartType::Multipart(_) => continue,
        };
        let name = attachment_name(part, n + 1);
        let size = data.len() as u64;
        let refusal = if let Some(ext) = denied_extension(&name, &limits.attachment_deny) {
            Some(NotKept::Denied {
                ending: ext.to_string(),
            })
        } else if size > limits.max_attachment_bytes {
            Some(NotKept::TooLarge {
                limit: limits.max_attachment_bytes,
            })
        } else if total + size > limits.max_total_bytes {
            Some(NotKept::OverTotal {
                limit: limits.max_total_bytes,
            })
        } else {
            total += size;
            None
        };
        if let Some(why) = refusal {
            warnings.push(Warning::AttachmentNotKept {
                name: name.clone(),
                size,
                why,
            });
            data = Vec::new();
        }
        kept.push(InboundAttachment {
            name,
            content_type: content_type(part),
            size,
            data,
        });
    }
    (kept, warnings)
}

fn content_type(part: &MessagePart) -> String {
    match part.content_type() {
        Some(ct) => {
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_lowercase()
        }
        None if part.is_text() => "text/plain".to_string(),
        None => "application/octet-stream".to_string(),
    }
}

/// The sender's file name without any path (it is used to store the file), or
/// `attachment-N.ext` when the part has none.
fn attachment_name(part: &MessagePart, n: usize) -> String {
    let given = part
        .attachment_name()
        .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name))
        .map(|name| {
            name.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .map(|name| name.trim().trim_start_matches('.').trim().to_string())
        .filter(|name| !name.is_empty());
    given.unwrap_or_else(|| {
        let ext = match &part.body {
            PartType::Message(_) => "eml".to_string(),
            _ => part
                .content_type()
                .and_then(|ct| ct.subtype())
                .map(|s| {
                    s.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_lowercase()
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "bin".to_string()),
        };
        format!("attachment-{n}.{ext}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_not_kept_whatever_they_pretend_to_be() {
        let deny: Vec<String> = DEFAULT_ATTACHMENT_DENY
            .iter()
            .map(|s| s.to_string())
            .collect();
        for name in [
            "report.pdf.exe",
            "INVOICE.PDF.EXE",
            "setup.exe. ",
            "a.js",
            "run.ps1",
            "disk.iso",
        ] {
            assert!(denied_extension(name, &deny).is_some(), "{name}");
        }
        for name in [
            "report.pdf",
            "screenshot.png",
            "notes.txt",
            "exe",
            "my.exe.pdf",
        ] {
            assert_eq!(denied_extension(name, &deny), None, "{name}");
        }
        assert_eq!(
            denied_extension("x.sh", &["sh".to_string()]).as_deref(),
            Some(".sh")
        );
    }
}
