-- Optional per-token command rules, as signed into the token (cmd_allow,
-- cmd_deny claims): comma-joined command names and @categories. NULL: none.
ALTER TABLE tokens ADD COLUMN cmd_allow TEXT;
ALTER TABLE tokens ADD COLUMN cmd_deny TEXT;
