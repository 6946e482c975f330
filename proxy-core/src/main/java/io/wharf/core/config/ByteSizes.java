package io.wharf.core.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses byte sizes: {@code 1048576}, {@code 512KiB}, {@code 20MiB}, {@code 100GiB}, {@code 2TB}. */
public final class ByteSizes {
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]i?b?|b)?");

  private ByteSizes() {}

  public static long parse(String text) {
    Matcher m = SIZE.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "invalid size '" + text + "' (use e.g. 1048576, 512KiB, 20MiB, 100GiB, 2TB)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2);
    if (unit == null || unit.equals("b")) {
      return n;
    }
    boolean binary = unit.contains("i") || unit.length() == 1;
    long base = binary ? 1024 : 1000;
    int power = "kmgt".indexOf(unit.charAt(0)) + 1;
    long mult = 1;
    for (int i = 0; i < power; i++) {
      mult = Math.multiplyExact(mult, base);
    }
    return Math.multiplyExact(n, mult);
  }
}
