//! Who a call acts as, read from the caller assertion the gateway or the
//! CLI signed (docs/architecture.md, "Who may call what"). Ids in the assertion are parsed here once.

use crate::domain::{self, audit::Actor};
use clickclack_common::assertion::{CallerKind, caller};
use clickclack_common::ids::UserId;
use tonic::{Request, Status};

/// Who a bot-management call acts as. A signed-in human acts as themselves,
/// whatever the request names; an operator acts for the deployment, or for
/// the user the request names (`--created-by`). Bots never manage bots.
pub(super) fn acting<T>(request: &Request<T>, named: Option<&str>) -> Result<Actor, Status> {
    let claims = caller(request)?;
    if claims.caller_kind() == Some(CallerKind::Operator) {
        return Ok(Actor::from_optional(domain::optional_user_id(
            named, "user",
        )?));
    }
    match claims.human() {
        Some(human) => Ok(Actor::User(signed_user(human)?)),
        None => Err(Status::permission_denied(
            "bot tokens cannot do this; sign in as a human",
        )),
    }
}

/// Like [`acting`], answering the user to record as acting (none for an
/// operator acting for the deployment).
pub(super) fn acting_user<T>(
    request: &Request<T>,
    named: Option<&str>,
) -> Result<Option<UserId>, Status> {
    Ok(acting(request, named)?.user_id().cloned())
}

/// The signed-in human making the call; anyone else is refused.
pub(super) fn required_human<T>(request: &Request<T>) -> Result<UserId, Status> {
    let claims = caller(request)?;
    let human = claims
        .human()
        .ok_or_else(|| Status::permission_denied("only a signed-in human can do this"))?;
    signed_user(human)
}

/// The user an assertion names; one naming no `usr_` id was not signed by
/// anyone who knows this deployment.
fn signed_user(subject: &str) -> Result<UserId, Status> {
    UserId::parse(subject).ok_or_else(|| Status::unauthenticated("the assertion names no user"))
}
