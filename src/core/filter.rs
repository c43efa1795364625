//! The query filter language (MongoDB-style JSON) parsed into a typed,
//! validated AST. Each query endpoint passes its allow-list of fields and
//! operators; the stores translate the AST to SQL with bound parameters.
