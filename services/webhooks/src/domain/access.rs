//! Who may manage a subscription, as a rule over what the caller's
//! assertion says and who the subscription reads for.
//!
//! - Operators (the admin CLI): any.
//! - Workspace owners and moderators: any in their workspace.
//! - A bot's owner: the subscriptions of that bot.
//! - A bot, holding `event_subscriptions:write` (in no bundle): its own.
//! - The member who made a subscription without a bot: that one.
//!
//! Anything in another workspace is "not found", never "forbidden": a
//! caller learns nothing of workspaces it is not in.

use clickclack_common::assertion::{CallerKind, Claims};
use clickclack_common::scopes::Scope;

/// The caller of a management call.
#[derive(Debug, Clone)]
pub enum Manager {
    Operator,
    /// A bot or human acting in `workspace_id` (as the gateway signed).
    Member {
        user_id: String,
        workspace_id: String,
        is_bot: bool,
        manages_workspace: bool,
        /// What this call manages, and so which scope lets a bot manage
        /// its own.
        managed: Managed,
        may_manage_own: bool,
    },
}

/// Who a subscription reads for, as far as management goes.
#[derive(Debug, Clone, Copy)]
pub struct Readership<'a> {
    pub workspace_id: &'a str,
    /// Its bot, and the bot's owner when it has one.
    pub bot: Option<(&'a str, Option<&'a str>)>,
    /// Who made it (the reader of a subscription without a bot).
    pub created_by: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("event subscription not found")]
    NotFound,
    #[error(
        "only workspace owners and moderators, the bot's owner, or the bot itself may manage what is kept for this bot"
    )]
    NotYours,
    #[error("a bot manages its own {} only with the {} scope", .0.things, .0.scope)]
    MissingScope(Managed),
    #[error("a bot makes subscriptions, incoming webhooks and slash commands only for itself")]
    ForAnotherBot,
}

/// What a management call manages, for its refusals: a bot manages its
/// own only with the scope named here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Managed {
    pub things: &'static str,
    pub scope: Scope,
}

/// Event subscriptions and incoming webhooks.
pub const HOOKS: Managed = Managed {
    things: "event subscriptions and incoming webhooks",
    scope: Scope::EventSubscriptionsWrite,
};

/// Slash commands.
pub const SLASH_COMMANDS: Managed = Managed {
    things: "slash commands",
    scope: Scope::CommandsWrite,
};

/// For whom something new (a subscription, an incoming webhook) acts, and
/// who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    /// The bot it acts as; `None` when a member named none.
    pub bot_user_id: Option<String>,
    /// The calling member or bot; `None` for the operator.
    pub created_by: Option<String>,
}

impl Manager {
    /// `None` for a caller that manages nothing (the gateway or a service
    /// acting as itself).
    pub fn from_claims(claims: &Claims, managed: Managed) -> Option<Manager> {
        match claims.caller_kind()? {
            CallerKind::Operator => Some(Manager::Operator),
            CallerKind::Principal => Some(Manager::Member {
                user_id: claims.sub.clone(),
                workspace_id: claims.wsp.clone(),
                is_bot: claims.is_bot(),
                manages_workspace: !claims.is_bot() && claims.role().manages_workspace(),
                managed,
                may_manage_own: claims.has_scope(managed.scope),
            }),
            CallerKind::Gateway | CallerKind::Service => None,
        }
    }

    /// The workspace the caller acts in (`None`: an operator, anywhere).
    pub fn workspace(&self) -> Option<&str> {
        match self {
            Manager::Operator => None,
            Manager::Member { workspace_id, .. } => Some(workspace_id),
        }
    }

    /// Whom a new subscription or hook acts for, given the bot the request
    /// `named` (blank: none): a bot acts for itself only, anyone else for
    /// the bot named. Whether the caller may manage that bot is
    /// [`Manager::may_manage`]'s to say.
    pub fn attribute(&self, named: &str) -> Result<Attribution, Refusal> {
        let named = Some(named.trim().to_owned()).filter(|bot| !bot.is_empty());
        match self {
            Manager::Member {
                is_bot: true,
                user_id,
                ..
            } => match named {
                Some(other) if other != *user_id => Err(Refusal::ForAnotherBot),
                _ => Ok(Attribution {
                    bot_user_id: Some(user_id.clone()),
                    created_by: Some(user_id.clone()),
                }),
            },
            Manager::Member { user_id, .. } => Ok(Attribution {
                bot_user_id: named,
                created_by: Some(user_id.clone()),
            }),
            Manager::Operator => Ok(Attribution {
                bot_user_id: named,
                created_by: None,
            }),
        }
    }

    /// Whether the caller may see and change a subscription that reads for
    /// `readership`.
    pub fn may_manage(&self, readership: Readership<'_>) -> Result<(), Refusal> {
        let Manager::Member {
            user_id,
            workspace_id,
            is_bot,
            manages_workspace,
            managed,
            may_manage_own,
        } = self
        else {
            return Ok(());
        };
        if workspace_id != readership.workspace_id {
            return Err(Refusal::NotFound);
        }
        if *is_bot {
            let own = readership.bot.is_some_and(|(bot, _)| bot == user_id);
            return match (own, may_manage_own) {
                (true, true) => Ok(()),
                (true, false) => Err(Refusal::MissingScope(*managed)),
                (false, _) => Err(Refusal::NotFound),
            };
        }
        if *manages_workspace {
            return Ok(());
        }
        let yours = match readership.bot {
            Some((_, owner)) => owner == Some(user_id.as_str()),
            None => readership.created_by == Some(user_id.as_str()),
        };
        if yours {
            Ok(())
        } else {
            Err(Refusal::NotYours)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user: &str, bot: bool, manager: bool, scope: bool) -> Manager {
        Manager::Member {
            user_id: user.into(),
            workspace_id: "wsp_a".into(),
            is_bot: bot,
            manages_workspace: manager,
            managed: HOOKS,
            may_manage_own: scope,
        }
    }

    const SERVICE_BOT: Readership<'static> = Readership {
        workspace_id: "wsp_a",
        bot: Some(("usr_svc", None)),
        created_by: Some("usr_mod"),
    };
    const ANAS_BOT: Readership<'static> = Readership {
        workspace_id: "wsp_a",
        bot: Some(("usr_helper", Some("usr_ana"))),
        created_by: Some("usr_ana"),
    };
    const BOBS_OWN: Readership<'static> = Readership {
        workspace_id: "wsp_a",
        bot: None,
        created_by: Some("usr_bob"),
    };

    #[test]
    fn managers_and_operators_manage_every_subscription_of_their_workspace() {
        for readership in [SERVICE_BOT, ANAS_BOT, BOBS_OWN] {
            assert_eq!(
                member("usr_mod", false, true, false).may_manage(readership),
                Ok(())
            );
            assert_eq!(Manager::Operator.may_manage(readership), Ok(()));
        }
    }

    #[test]
    fn a_member_manages_their_bots_and_their_own_subscriptions_only() {
        let ana = member("usr_ana", false, false, false);
        assert_eq!(ana.may_manage(ANAS_BOT), Ok(()));
        assert_eq!(ana.may_manage(SERVICE_BOT), Err(Refusal::NotYours));
        assert_eq!(ana.may_manage(BOBS_OWN), Err(Refusal::NotYours));
        let bob = member("usr_bob", false, false, false);
        assert_eq!(bob.may_manage(BOBS_OWN), Ok(()));
        // Having made a subscription for Ana's bot does not make it yours.
        let made_it = Readership {
            created_by: Some("usr_bob"),
            ..ANAS_BOT
        };
        assert_eq!(bob.may_manage(made_it), Err(Refusal::NotYours));
    }

    #[test]
    fn a_bot_manages_its_own_subscriptions_only_with_the_scope() {
        let helper = member("usr_helper", true, false, true);
        assert_eq!(helper.may_manage(ANAS_BOT), Ok(()));
        assert_eq!(helper.may_manage(SERVICE_BOT), Err(Refusal::NotFound));
        assert_eq!(helper.may_manage(BOBS_OWN), Err(Refusal::NotFound));
        let unscoped = member("usr_helper", true, false, false);
        assert_eq!(
            unscoped.may_manage(ANAS_BOT),
            Err(Refusal::MissingScope(HOOKS))
        );
        // A bot is never a workspace manager, whatever its role says.
        let bot_as_owner = member("usr_helper", true, true, false);
        assert_eq!(bot_as_owner.may_manage(SERVICE_BOT), Err(Refusal::NotFound));
    }

    #[test]
    fn another_workspace_is_not_found() {
        let elsewhere = Readership {
            workspace_id: "wsp_b",
            ..BOBS_OWN
        };
        assert_eq!(
            member("usr_mod", false, true, false).may_manage(elsewhere),
            Err(Refusal::NotFound)
        );
        assert_eq!(
            member("usr_bob", false, false, false).may_manage(elsewhere),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn a_bot_acts_for_itself_and_others_for_the_bot_they_name() {
        let bot = member("usr_bot", true, false, true);
        let made = bot.attribute("").unwrap();
        assert_eq!(made.bot_user_id.as_deref(), Some("usr_bot"));
        assert_eq!(made.created_by.as_deref(), Some("usr_bot"));
        assert_eq!(bot.attribute(" usr_bot ").unwrap(), made);
        assert_eq!(bot.attribute("usr_other"), Err(Refusal::ForAnotherBot));

        let human = member("usr_ana", false, false, false);
        let named = human.attribute("usr_bot").unwrap();
        assert_eq!(named.bot_user_id.as_deref(), Some("usr_bot"));
        assert_eq!(named.created_by.as_deref(), Some("usr_ana"));
        assert_eq!(human.attribute("  ").unwrap().bot_user_id, None);

        let operator = Manager::Operator.attribute("usr_bot").unwrap();
        assert_eq!(operator.bot_user_id.as_deref(), Some("usr_bot"));
        assert_eq!(operator.created_by, None);
    }
}
