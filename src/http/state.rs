//! What every handler is given: the core context and the app credentials.

use std::sync::Arc;

use super::credentials::Credentials;
use crate::core::Ctx;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub credentials: Arc<Credentials>,
}
