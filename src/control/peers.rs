//! Who is on the other end of the control socket: the Unix user from the
//! socket's peer credentials (`SO_PEERCRED`), their login name, and whether
//! they may use the socket — root, the daemon's own user, or a member of
//! `[control] group`. Every CLI action is logged under that login; `--by`
//! can only add "on behalf of".
//!
//! Invariant: the user database is read from `/etc/passwd` and `/etc/group`
//! (what NSS's "files" source reads); a uid or group missing there is no one.

use std::os::unix::fs::MetadataExt;

/// The user a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub login: String,
}

impl Caller {
    pub fn of_uid(uid: u32) -> Caller {
        let login = passwd()
            .into_iter()
            .find(|u| u.uid == uid)
            .map_or_else(|| format!("uid {uid}"), |u| u.name);
        Caller { uid, login }
    }

    /// This process's own user (the offline CLI, the daemon).
    pub fn this_process() -> Caller {
        Caller::of_uid(own_uid())
    }

    /// The actor to log: the login, or "login (for NAME)" when acting for
    /// someone else; root may act as anyone, and that is logged too.
    pub fn actor(&self, on_behalf_of: Option<&str>) -> String {
        match on_behalf_of.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) if name != self.login => format!("{} (for {name})", self.login),
            _ => self.login.clone(),
        }
    }
}

/// Whether `caller` may use the socket; the error is what they are told.
pub fn admit(caller: &Caller, staff_group: Option<&str>) -> Result<(), String> {
    if caller.uid == 0 || caller.uid == own_uid() {
        return Ok(());
    }
    match staff_group {
        Some(group) if member_of(caller, group) => Ok(()),
        Some(group) => Err(format!(
            "user {} is not in the staff group {group:?}: ask an admin to add you (usermod -aG {group} {})",
            caller.login, caller.login
        )),
        None => Err(format!(
            "user {} may not use the control socket: only the daemon's user and root may ([control].group is not set)",
            caller.login
        )),
    }
}

/// The gid of a group, if it exists.
pub fn group_id(name: &str) -> Option<u32> {
    groups().into_iter().find(|g| g.name == name).map(|g| g.gid)
}

fn member_of(caller: &Caller, group: &str) -> bool {
    let Some(g) = groups().into_iter().find(|g| g.name == group) else {
        return false;
    };
    let primary = passwd()
        .into_iter()
        .any(|u| u.uid == caller.uid && u.gid == g.gid);
    primary || g.members.contains(&caller.login)
}

fn own_uid() -> u32 {
    // The owner of /proc/self is this process's effective user.
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

struct User {
    name: String,
    uid: u32,
    gid: u32,
}

struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn passwd() -> Vec<User> {
    read("/etc/passwd")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(User {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn groups() -> Vec<Group> {
    read("/etc/group")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(Group {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_and_admission() {
        let alice = Caller {
            uid: 4242,
            login: "alice".into(),
        };
        assert_eq!(alice.actor(None), "alice");
        assert_eq!(alice.actor(Some("alice")), "alice");
        assert_eq!(alice.actor(Some("张三")), "alice (for 张三)");
        assert!(admit(&Caller::this_process(), None).is_ok());
        let root = Caller::of_uid(0);
        assert_eq!(root.login, "root");
        assert!(admit(&root, None).is_ok());
        let refused = admit(&alice, Some("no-such-group-here")).unwrap_err();
        assert!(refused.contains("alice") && refused.contains("no-such-group-here"));
        assert!(admit(&alice, None).is_err());
    }
}
