package io.wharf.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Minimal {@code --key value} / {@code --flag} parsing for the bench tools (repeatable keys). */
final class Args {
  private Args() {}

  static Map<String, List<String>> parse(String[] args) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --option, got " + args[i]);
      }
      String key = args[i].substring(2);
      String value = "true";
      int eq = key.indexOf('=');
      if (eq >= 0) {
        value = key.substring(eq + 1);
        key = key.substring(0, eq);
      } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
        value = args[++i];
      }
      m.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }
    return m;
  }

  static String one(Map<String, List<String>> m, String key, String dflt) {
    List<String> v = m.get(key);
    return v == null || v.isEmpty() ? dflt : v.get(v.size() - 1);
  }
}
