package io.wharf.core.access;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Users from an htpasswd file with bcrypt hashes ({@code $2y$}, {@code $2b$}, {@code $2a$} — what
 * {@code htpasswd -B} writes). Other hash kinds (MD5 {@code $apr1$}, SHA, crypt) are refused with
 * a log line: they are too weak for a network service. The file is re-read when it changes.
 * {@link #check} is slow on purpose (bcrypt): call it off the event loop.
 */
public final class Htpasswd {
  private static final Logger log = LoggerFactory.getLogger(Htpasswd.class);

  private final Path file;
  private volatile Map<String, String> users = Map.of();
  private volatile FileTime loadedAt;

  public Htpasswd(Path file) {
    this.file = file;
    reloadIfChanged();
  }

  /** True if {@code user} exists and {@code password} matches its bcrypt hash. Blocking. */
  public boolean check(String user, String password) {
    reloadIfChanged();
    String hash = users.get(user);
    if (hash == null) {
      return false;
    }
    try {
      // OpenBSDBCrypt knows $2a$/$2b$; $2y$ (PHP/Apache) is the same algorithm.
      String normalized = hash.startsWith("$2y$") ? "$2b$" + hash.substring(4) : hash;
      return OpenBSDBCrypt.checkPassword(normalized, password.toCharArray());
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private void reloadIfChanged() {
    try {
      FileTime t = Files.getLastModifiedTime(file);
      if (t.equals(loadedAt)) {
        return;
      }
      Map<String, String> m = new HashMap<>();
      int skipped = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        int colon = l.indexOf(':');
        if (colon <= 0) {
          skipped++;
          continue;
        }
        String hash = l.substring(colon + 1);
        if (!hash.matches("\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}")) {
          skipped++;
          continue;
        }
        m.put(l.substring(0, colon), hash);
      }
      if (skipped > 0) {
        log.warn("{}: ignored {} lines that are not user:bcrypt-hash (use htpasswd -B)", file, skipped);
      }
      users = Map.copyOf(m);
      loadedAt = t;
    } catch (IOException e) {
      log.error("cannot read htpasswd file {}: {}; keeping the previous users", file, e.toString());
    }
  }
}
