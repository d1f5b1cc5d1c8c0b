// The client app's "break it, fix it" lab over HTTP, as a browser uses it: the lab page's forms, one per switch,
// submitted with `Accept: application/json` to get the run's result (its observations, whether the defence held).
import { Browser, forms, submission, type Form, type Page } from './browser.js';

export interface Observation {
  label: string;
  by: string;
  status?: number;
  error?: string;
  errorDescription?: string;
  title?: string;
  active?: boolean;
  ok: boolean;
}

export interface LabResult {
  switchId: string;
  asExpected: boolean;
  notRun?: string;
  traceId: string;
  observations: Observation[];
}

export interface Lab {
  page: Page;
  /** One form per switch. */
  forms: Form[];
  run(id: string): Promise<LabResult>;
}

/** Opens the lab page of the client app at `clientUrl` in `browser` (workshop mode must be on). */
export async function openLab(browser: Browser, clientUrl: string): Promise<Lab> {
  const page = await browser.request(`${clientUrl}/workshop/lab`);
  const labForms = forms(page).filter((f) => f.action.endsWith('/workshop/lab/run'));
  async function run(id: string): Promise<LabResult> {
    const form = labForms.find((f) => f.fields.switch === id);
    if (!form) throw new Error(`no lab form for ${id}`);
    // The first run gives this browser its inspector id (a cookie), as the HTML form would.
    // A run may wait (an expired token, a device's grown polling interval): up to LAB_MAX_WAIT and a little more.
    const res = await browser.request(form.action, {
      form: submission(form),
      headers: { accept: 'application/json' },
      timeoutMs: 60_000,
    });
    if (res.status !== 200) throw new Error(`lab run ${id} answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body) as LabResult;
  }
  return { page, forms: labForms, run };
}
