// Package fix turns semantic changes on Kubernetes objects into byte-range
// edits on the YAML text they were read from, and applies and shows them.
//
// A Patch says what should be true of an object ("runAsNonRoot is true",
// "capabilities.drop contains ALL", "privileged is absent"), in terms of a
// ypath.Path relative to the object, independent of how the object is
// written. Lower turns a Patch into Edits on the source bytes: it replaces
// exactly one scalar token, inserts whole lines, or removes whole lines, so
// comments, blank lines, key order, quoting, anchors, line endings and
// document headers stay byte-for-byte. The YAML tree is only read to find
// positions; it is never re-serialised.
//
// Every lowering is checked before it is returned: the edited file must
// parse, the patched field must have the wanted value, and every other field
// of every document must decode to what it decoded to before. A failure of
// that check is reported as an error rather than as a wrong edit.
//
// Layout rules for new text (documented here because users see them):
//
//   - Indentation: new keys are indented like their siblings. New nested
//     blocks use the indentation step most used by the object (2 or 4
//     spaces, falling back to the rest of the file, then to 2).
//
//   - Sequences: new block sequences are written flush ("key:\n- x") or
//     indented ("key:\n  - x") as most sequences in the object (then the
//     file) are; indented when there are none. A new list of scalars is
//     written in flow style ("key: [x]") only when the object (then the
//     file) holds more flow than block lists of scalars.
//
//   - Empty and null parents: a `{}` or null value of a block mapping key
//     becomes a block mapping (the key line and its comment are kept); in a
//     flow collection or as a list item it is filled in flow style,
//     `{key: value}`.
//
//   - Quoting: a string is written plain only when every YAML 1.1 and 1.2
//     reader reads it back as the same string; otherwise it is
//     double-quoted ("1000", "true", "yes", "null", "0x1F", "1e3", "~",
//     "a: b"). A string that replaces a quoted string keeps its quote style.
//
//   - Line endings follow the file's first line break (CRLF stays CRLF);
//     indentation is spaces, never tabs.
//
//   - Deletions remove whole lines (a key with its nested block, a list
//     element with its dash line). A mapping or list left empty is written
//     {} or [], so the field stays an empty collection rather than null.
//
// Fixes never create list elements (a container that is not in this file
// is somebody else's to fix) and never edit through YAML aliases, anchors
// that are referenced elsewhere, or merge keys, since that would change
// other objects; a key written twice, a delete by list index (not
// idempotent) and a patch that would unselect its own list element are
// refused too. Those cases are errors that say so.
//
// Lower all patches of one object with one LowerAll call; edits of
// different objects are independent and can be merged and applied at once
// with Apply. Diff renders the change as a unified diff.
package fix
