import { href } from '../lib/router';
import { PageTitle } from '../components/ui';
import { useApp } from '../lib/app';

export function HomePage() {
  const { user } = useApp();
  return (
    <>
      <PageTitle sub="Tamper-evident odometer history: each reading is signed by the car's device, sealed, and attested by a rollup whose results can be proven on chain.">
        The Witness
      </PageTitle>
      <div className="tiles">
        <a className="tile" href={href('/verify')}>
          <h2>Verify a car</h2>
          <p>Read the device now with a fresh challenge and compare it with what the rollup attested. No account needed.</p>
        </a>
        <a className="tile" href={href(user ? '/devices' : '/login')}>
          <h2>My devices</h2>
          <p>Claim your car's device, see its history (only you can decrypt it), and follow pending submissions.</p>
        </a>
        <a className="tile" href={href('/stats')}>
          <h2>Statistics</h2>
          <p>Anonymous fleet figures per model: distance per year, faults, consumption and CO₂.</p>
        </a>
        <a className="tile" href={href('/system')}>
          <h2>System</h2>
          <p>Chain head, rollup node lag, the gateway's queue and recent rejections.</p>
        </a>
      </div>
    </>
  );
}
