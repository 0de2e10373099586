// Parse a git patch (`git diff --binary`) into files, hunks and numbered lines.

function stripPrefix(path) {
  if (path === "/dev/null") return null;
  return path.replace(/^"?[ab]\//, "").replace(/"$/, "").replace(/\t.*$/, "");
}

function pathsFromHeader(rest) {
  // "a/x b/x": ambiguous with spaces; the ---/+++ lines, when present, win.
  const m = /^"?a\/(.*?)"? "?b\/(.*?)"?$/.exec(rest);
  return m ? [m[1], m[2]] : [rest, rest];
}

/**
 * Files of a patch: [{oldPath, newPath, path, status, binary, additions, deletions, lines}],
 * lines: [{kind: "hunk"|"add"|"del"|"ctx"|"meta", text, oldNo, newNo}].
 */
export function parsePatch(text) {
  const files = [];
  let file = null;
  let inHunk = false;
  let oldNo = 0;
  let newNo = 0;
  for (const raw of String(text ?? "").split("\n")) {
    if (raw.startsWith("diff --git ")) {
      const [a, b] = pathsFromHeader(raw.slice(11));
      file = { oldPath: a, newPath: b, path: b, status: "modified", binary: false, additions: 0, deletions: 0, lines: [] };
      files.push(file);
      inHunk = false;
      continue;
    }
    if (!file) continue;
    if (file.binary && !inHunk) continue; // base85 payload of a binary patch
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/.exec(raw);
    if (hunk) {
      inHunk = true;
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      file.lines.push({ kind: "hunk", text: raw, oldNo: null, newNo: null });
      continue;
    }
    if (!inHunk) {
      if (raw.startsWith("new file mode")) file.status = "added";
      else if (raw.startsWith("deleted file mode")) file.status = "deleted";
      else if (raw.startsWith("rename from ")) {
        file.status = "renamed";
        file.oldPath = raw.slice(12);
      } else if (raw.startsWith("rename to ")) file.newPath = file.path = raw.slice(10);
      else if (raw.startsWith("--- ")) file.oldPath = stripPrefix(raw.slice(4)) ?? file.oldPath;
      else if (raw.startsWith("+++ ")) {
        const p = stripPrefix(raw.slice(4));
        if (p) file.newPath = file.path = p;
        else file.path = file.oldPath;
      } else if (raw.startsWith("Binary files ") || raw.startsWith("GIT binary patch")) file.binary = true;
      continue;
    }
    if (raw.startsWith("+")) {
      file.additions += 1;
      file.lines.push({ kind: "add", text: raw.slice(1), oldNo: null, newNo: newNo++ });
    } else if (raw.startsWith("-")) {
      file.deletions += 1;
      file.lines.push({ kind: "del", text: raw.slice(1), oldNo: oldNo++, newNo: null });
    } else if (raw.startsWith(" ")) {
      file.lines.push({ kind: "ctx", text: raw.slice(1), oldNo: oldNo++, newNo: newNo++ });
    } else if (raw.startsWith("\\")) {
      file.lines.push({ kind: "meta", text: raw, oldNo: null, newNo: null });
    }
  }
  return files;
}
