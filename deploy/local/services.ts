/** The services `npm run start:services` runs, each as its own process, with its port. */
export interface ServiceProcess {
  name: string;
  entry: string;
  port: number;
}

export const serviceProcesses: ServiceProcess[] = [
  { name: 'ipam', entry: 'services/ipam/src/main.ts', port: 8081 },
  { name: 'provisioning', entry: 'services/provisioning/src/main.ts', port: 8082 },
  { name: 'quota', entry: 'services/quota/src/main.ts', port: 8083 },
];
