package io.wharf.server.cli;

import picocli.CommandLine;

/** Version from the jar manifest (or "dev" when run from classes). */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = VersionProvider.class.getPackage().getImplementationVersion();
    return new String[] {"wharf " + (v == null ? "dev" : v)};
  }
}
