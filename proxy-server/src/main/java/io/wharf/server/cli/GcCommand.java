package io.wharf.server.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code wharf gc}: ask a running Wharf to collect garbage, print what it did. */
@Command(name = "gc", mixinStandardHelpOptions = true,
    description = "In a running Wharf: remove orphaned temp files (owned by no fetch, untouched"
        + " for an hour), evict tiers that are over budget, apply retention; print the report"
        + " as JSON.")
final class GcCommand implements Callable<Integer> {
  @Mixin AdminClient admin;
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    return AdminCalls.run(spec, "gc", () -> admin.send("POST", "/admin/gc", null), 200,
        (out, j) -> out.println(AdminClient.pretty(j)));
  }
}
