/**
 * Second, independent implementations in Python (Debian packages), found once per test file:
 * the first interpreter that can import what a test needs. A missing package is an error
 * with the fix in its message, never a skip.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Debian installs its python3-* packages for the system interpreter, which may not be the `python3` on PATH (pyenv). */
const CANDIDATES = [process.env.INSIGHT_LOGS_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => Boolean(p));

/**
 * The first interpreter where `import <modules>` works; throws naming the Debian package
 * (`python3-avro`, `python3-azure`) and what needs it when there is none.
 */
export async function findPython(modules: string, debianPackage: string, neededFor: string): Promise<string> {
  const tried: string[] = [];
  for (const python of CANDIDATES) {
    try {
      await execFileP(python, ['-c', `import ${modules}`], { timeout: 30_000 });
      return python;
    } catch (err) {
      tried.push(`${python}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `${debianPackage} is required for ${neededFor} and was not found. Install it with ` +
    `\`apt-get install -y --no-install-recommends ${debianPackage}\` (or point INSIGHT_LOGS_PYTHON at a python with ${modules}). ` +
    `Tried: ${tried.join('; ')}`,
  );
}
