export {
  startDeviceSimulator,
  type DeviceSimulator,
  type DeviceSimulatorOptions,
} from './startDeviceSimulator.ts'
export {
  startOracleSimulator,
  type OracleSimulator,
  type OracleSimulatorOptions,
} from './startOracleSimulator.ts'
export { temperatureProfile, type TemperatureProfile } from './temperatureProfile.ts'
