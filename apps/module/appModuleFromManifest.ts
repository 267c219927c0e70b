import {
  decodeAbiParameters,
  encodeAbiParameters,
  encodeFunctionData,
  getAbiItem,
  keccak256,
  stringToHex,
  toFunctionSelector,
  type AbiFunction,
  type AbiParameter,
  type Hex,
} from 'viem'
import { OracleMessagesHarness } from '../../contracts/generated/OracleMessagesHarness.ts'
import { ChanvmError } from '../../engine/errors.ts'
import { oracleSignatureToStruct } from '../../oracles/message/oracleSignatureToStruct.ts'
import { textToBytes32 } from '../../oracles/message/textToBytes32.ts'
import type {
  ActionContext,
  AppActionSpec,
  AppArtifact,
  AppModule,
  AppParam,
  AppStateDescription,
  InputFill,
  JsonValue,
} from '../types.ts'
import { abiValueToJson } from './abiValueToJson.ts'
import { abiTypeText, jsonToAbiValue } from './jsonToAbiValue.ts'

/** App and action names: what commands and URLs carry. */
const NAME = /^[a-z][a-z0-9-]{0,31}$/
const ACTION_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/
const ABI_TYPE =
  /^(uint(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)?|int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)?|address|bool|string|bytes([1-9]|[12][0-9]|3[0-2])?|tuple)(\[\d*\])*$/

const ACTION_TUPLE = [{ type: 'uint8' }, { type: 'bytes' }] as const

/** `(Reading reading, OracleSig sig)[]` and `(Answer answer, OracleSig sig)[]` as the app contracts take them. */
const verifyReading = getAbiItem({ abi: OracleMessagesHarness.abi, name: 'verifyReading' })
const verifyAnswer = getAbiItem({ abi: OracleMessagesHarness.abi, name: 'verifyAnswer' })
const readingType = abiTypeText(verifyReading.inputs[1] as AppParam)
const answerType = abiTypeText(verifyAnswer.inputs[1] as AppParam)
const sigType = abiTypeText(verifyReading.inputs[2] as AppParam)

/** The canonical type of the argument a `readings` / `answers` fill produces. */
const FILL_TYPES = {
  readings: `(${readingType},${sigType})[]`,
  answers: `(${answerType},${sigType})[]`,
}

/** The argument a fill produces, for manifests that give `from` without a type. */
const FILL_PARAMS = {
  readings: {
    type: 'tuple[]',
    components: [
      { ...(verifyReading.inputs[1] as AppParam), name: 'reading' },
      { ...(verifyReading.inputs[2] as AppParam), name: 'sig' },
    ],
  },
  answers: {
    type: 'tuple[]',
    components: [
      { ...(verifyAnswer.inputs[1] as AppParam), name: 'answer' },
      { ...(verifyAnswer.inputs[2] as AppParam), name: 'sig' },
    ],
  },
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

type ActionPlan = AppActionSpec & {
  /** Every argument in encoding order; `from` set for the filled ones. */
  all: readonly (AppParam & { from?: InputFill })[]
  encode: (values: unknown[]) => Hex
  matches: (calldata: Hex) => boolean
}

/**
 * An {@link AppModule} from a manifest (parsed JSON, see docs/config.md "Your own app") and the
 * app's artifact. Pure; every problem with the manifest is `CONFIG` naming the manifest field
 * (`manifest actions[1].args[0].type: ...`), so a bad manifest stops the node before it runs.
 *
 * @example
 * ```ts
 * const app = appModuleFromManifest(JSON.parse(text), readArtifact(artifactPath))
 * app.encodeAction('fund', { amount: '1000', deadline: '1700000000' }, { base, channelId, inputs })
 * ```
 */
export function appModuleFromManifest(
  manifest: unknown,
  artifact: AppArtifact,
  source = 'manifest',
): AppModule {
  const bad = (field: string, why: string) => new ChanvmError('CONFIG', `${source} ${field}: ${why}`)
  if (!isObject(manifest)) throw bad('(top)', 'not a JSON object')
  const known = [
    'name',
    'artifact',
    'contract',
    'roles',
    'state',
    'terms',
    'initial',
    'actionEncoding',
    'actionAbi',
    'actions',
    'description',
  ]
  for (const k of Object.keys(manifest))
    if (!known.includes(k)) throw bad(k, `unknown key (known: ${known.join(', ')})`)

  const name = manifest['name']
  if (typeof name !== 'string' || !NAME.test(name))
    throw bad('name', 'lower case letters, digits and -, 1-32, starting with a letter')

  const roles = manifest['roles']
  if (
    !Array.isArray(roles) ||
    roles.length !== 2 ||
    roles.some((r) => typeof r !== 'string' || !NAME.test(r)) ||
    roles[0] === roles[1]
  )
    throw bad('roles', 'two different names (participant 0, participant 1), lower case')
  const roleNames = roles as [string, string]

  // --- state layout
  const checkParams = (field: string, params: unknown): AppParam[] => {
    if (!Array.isArray(params)) throw bad(field, 'a list of ABI parameters')
    const names = new Set<string>()
    return params.map((p, i) => {
      const f = `${field}[${i}]`
      if (!isObject(p)) throw bad(f, 'an ABI parameter { name, type }')
      if (typeof p['name'] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p['name']))
        throw bad(`${f}.name`, 'an identifier')
      if (names.has(p['name'])) throw bad(`${f}.name`, `${p['name']} twice`)
      names.add(p['name'])
      if (typeof p['type'] !== 'string' || !ABI_TYPE.test(p['type']))
        throw bad(`${f}.type`, `${JSON.stringify(p['type'])} is not an ABI type`)
      const out: AppParam = { name: p['name'], type: p['type'] }
      if (p['type'].startsWith('tuple')) out.components = checkParams(`${f}.components`, p['components'])
      else if (p['components'] !== undefined) throw bad(`${f}.components`, 'only a tuple has components')
      return out
    })
  }
  const state = manifest['state']
  if (!isObject(state)) throw bad('state', 'an object: { "params": [...] } or { "function": "encodeData" }')
  let stateParams: AppParam[]
  if (state['params'] !== undefined && state['function'] === undefined)
    stateParams = checkParams('state.params', state['params'])
  else if (typeof state['function'] === 'string' && state['params'] === undefined) {
    const fn = artifact.abi.find(
      (i): i is AbiFunction => i.type === 'function' && i.name === state['function'],
    )
    if (fn === undefined)
      throw bad('state.function', `${artifact.contractName} has no function ${state['function']}`)
    stateParams = checkParams('state.function', fn.inputs)
  } else throw bad('state', 'exactly one of "params" or "function"')
  if (stateParams.length === 0) throw bad('state', 'the app data has no fields')
  // A single tuple parameter is the app's struct: its components are the state's fields.
  const single = stateParams.length === 1 && stateParams[0]!.type === 'tuple' ? stateParams[0]! : undefined
  const fields: AppParam[] = single !== undefined ? [...(single.components ?? [])] : stateParams
  const fieldOf = (n: string) => fields.find((f) => f.name === n)

  // --- terms and the fixed initial fields
  const terms = manifest['terms'] ?? []
  if (!Array.isArray(terms) || terms.some((t) => typeof t !== 'string'))
    throw bad('terms', 'a list of state field names the open request gives')
  const termParams = (terms as string[]).map((t, i) => {
    const f = fieldOf(t)
    if (f === undefined)
      throw bad(`terms[${i}]`, `${t} is not a state field (fields: ${fields.map((x) => x.name).join(', ')})`)
    return f
  })
  if (new Set(terms).size !== terms.length) throw bad('terms', 'a field is named twice')
  const initial = manifest['initial'] ?? {}
  if (!isObject(initial)) throw bad('initial', 'an object: state field to value')
  const fixed: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(initial)) {
    const f = fieldOf(k)
    if (f === undefined) throw bad(`initial.${k}`, 'not a state field')
    if ((terms as string[]).includes(k)) throw bad(`initial.${k}`, 'also a term')
    try {
      fixed[k] = jsonToAbiValue(f, v, k)
    } catch (e) {
      throw bad(`initial.${k}`, (e as ChanvmError).shortMessage)
    }
  }
  for (const f of fields)
    if (!(terms as string[]).includes(f.name) && !Object.hasOwn(fixed, f.name))
      throw bad('initial', `the state field ${f.name} is neither a term nor given an initial value`)

  const decodeFields = (appData: Hex): Record<string, unknown> => {
    const decoded = decodeAbiParameters(stateParams as AbiParameter[], appData)
    if (single !== undefined) {
      const d = decoded[0] as Record<string, unknown>
      return Object.fromEntries(fields.map((f, i) => [f.name, Array.isArray(d) ? d[i] : d[f.name]]))
    }
    return Object.fromEntries(fields.map((f, i) => [f.name, decoded[i]]))
  }
  const encodeFields = (values: Record<string, unknown>): Hex =>
    single !== undefined
      ? encodeAbiParameters(stateParams as AbiParameter[], [values])
      : encodeAbiParameters(
          stateParams as AbiParameter[],
          fields.map((f) => values[f.name]),
        )

  // --- actions
  const encoding = manifest['actionEncoding'] ?? 'tuple'
  if (encoding !== 'tuple' && encoding !== 'function') throw bad('actionEncoding', '"tuple" or "function"')
  const actionAbi = manifest['actionAbi'] ?? artifact.abi
  if (!Array.isArray(actionAbi)) throw bad('actionAbi', 'an ABI (a list)')
  if (!Array.isArray(manifest['actions']) || manifest['actions'].length === 0)
    throw bad('actions', 'a list of at least one action')
  const roleIndex = (field: string, r: unknown): 0 | 1 => {
    if (r === 0 || r === 1) return r
    const i = roleNames.indexOf(String(r))
    if (i < 0) throw bad(field, `${JSON.stringify(r)} is not a role (${roleNames.join(', ')}) nor 0 or 1`)
    return i as 0 | 1
  }
  const checkFill = (field: string, arg: AppParam, from: unknown): InputFill => {
    if (!isObject(from)) throw bad(field, 'an object: { "readings": {...} } or { "answers": {...} }')
    const kinds = Object.keys(from)
    const kind = kinds[0]
    if (kinds.length !== 1 || (kind !== 'readings' && kind !== 'answers'))
      throw bad(field, 'exactly one of "readings" or "answers"')
    const spec = from[kind]
    if (!isObject(spec)) throw bad(`${field}.${kind}`, 'an object')
    if (abiTypeText(arg) !== FILL_TYPES[kind])
      throw bad(field, `the argument must have the type ${FILL_TYPES[kind]}, it has ${abiTypeText(arg)}`)
    const stateField = (k: string, types: RegExp, required: boolean): string | undefined => {
      const v = spec[k]
      if (v === undefined && !required) return undefined
      const f = typeof v === 'string' ? fieldOf(v) : undefined
      if (f === undefined) throw bad(`${field}.${kind}.${k}`, `${JSON.stringify(v)} is not a state field`)
      if (!types.test(f.type))
        throw bad(`${field}.${kind}.${k}`, `the state field ${f.name} is ${f.type}, not ${types.source}`)
      return f.name
    }
    const text = (k: string): string | undefined => {
      const v = spec[k]
      if (v === undefined) return undefined
      if (typeof v !== 'string') throw bad(`${field}.${kind}.${k}`, 'text')
      try {
        textToBytes32(v)
      } catch {
        throw bad(`${field}.${kind}.${k}`, 'printable ASCII text of 1 to 32 characters')
      }
      return v
    }
    const count = (k: string, def: number): number => {
      const v = spec[k] ?? def
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 256)
        throw bad(`${field}.${kind}.${k}`, 'an integer 0..256')
      return v
    }
    if (kind === 'readings') {
      const allowed = ['device', 'after', 'kind', 'unit', 'from', 'until', 'max', 'min']
      for (const k of Object.keys(spec))
        if (!allowed.includes(k))
          throw bad(`${field}.readings.${k}`, `unknown (known: ${allowed.join(', ')})`)
      const r: Extract<InputFill, { readings: unknown }>['readings'] = {
        device: stateField('device', /^bytes32$/, true)!,
        max: count('max', 32),
        min: count('min', 1),
      }
      const after = stateField('after', /^uint\d*$/, false)
      if (after !== undefined) r.after = after
      const from = stateField('from', /^u?int\d*$/, false)
      if (from !== undefined) r.from = from
      const until = stateField('until', /^u?int\d*$/, false)
      if (until !== undefined) r.until = until
      const k = text('kind')
      if (k !== undefined) r.kind = k
      const u = text('unit')
      if (u !== undefined) r.unit = u
      return { readings: r }
    }
    const allowed = ['question', 'signers', 'answer', 'quorum']
    for (const k of Object.keys(spec))
      if (!allowed.includes(k)) throw bad(`${field}.answers.${k}`, `unknown (known: ${allowed.join(', ')})`)
    const a: Extract<InputFill, { answers: unknown }>['answers'] = {
      question: stateField('question', /^(bytes32|string)$/, true)!,
      signers: stateField('signers', /^bytes32\[\d*\]$/, true)!,
    }
    const ans = text('answer')
    if (ans !== undefined) a.answer = ans
    const q = stateField('quorum', /^uint\d*$/, false)
    if (q !== undefined) a.quorum = q
    return { answers: a }
  }

  const tags = new Set<number>()
  const plans: ActionPlan[] = manifest['actions'].map((raw, i): ActionPlan => {
    const field = `actions[${i}]`
    if (!isObject(raw)) throw bad(field, 'an object { name, args, ... }')
    const allowed =
      encoding === 'tuple'
        ? ['name', 'tag', 'args', 'by', 'description']
        : ['name', 'function', 'fill', 'by', 'description']
    for (const k of Object.keys(raw))
      if (!allowed.includes(k))
        throw bad(`${field}.${k}`, `unknown with ${encoding} encoding (known: ${allowed.join(', ')})`)
    const actionName = raw['name']
    if (typeof actionName !== 'string' || !ACTION_NAME.test(actionName))
      throw bad(`${field}.name`, 'a name of letters, digits, - and _')
    const by =
      raw['by'] === undefined
        ? [0, 1]
        : Array.isArray(raw['by']) && raw['by'].length > 0
          ? raw['by']
          : undefined
    if (by === undefined) throw bad(`${field}.by`, 'a list of role names')
    const byIdx = [...new Set(by.map((r, j) => roleIndex(`${field}.by[${j}]`, r)))].sort()
    const description = raw['description']
    if (description !== undefined && typeof description !== 'string')
      throw bad(`${field}.description`, 'text')
    let all: (AppParam & { from?: InputFill })[]
    let encode: (values: unknown[]) => Hex
    let matches: (calldata: Hex) => boolean
    if (encoding === 'tuple') {
      const tag = raw['tag'] ?? i
      if (typeof tag !== 'number' || !Number.isInteger(tag) || tag < 0 || tag > 255)
        throw bad(`${field}.tag`, 'an integer 0..255')
      if (tags.has(tag)) throw bad(`${field}.tag`, `${tag} is the tag of another action`)
      tags.add(tag)
      const rawArgs = raw['args'] ?? []
      if (!Array.isArray(rawArgs)) throw bad(`${field}.args`, 'a list of ABI parameters')
      // An argument the node fills may leave out its type: the fill's own type is taken.
      const typed = rawArgs.map((a: unknown) => {
        if (!isObject(a)) return a
        const { from, ...rest } = a
        if (from === undefined || rest['type'] !== undefined || !isObject(from)) return rest
        const kind = Object.keys(from)[0]
        return kind === 'readings' || kind === 'answers' ? { ...rest, ...FILL_PARAMS[kind] } : rest
      })
      const params = checkParams(`${field}.args`, typed)
      all = params.map((p, j) => {
        const from = isObject(rawArgs[j]) ? rawArgs[j]['from'] : undefined
        return from === undefined ? p : { ...p, from: checkFill(`${field}.args[${j}].from`, p, from) }
      })
      encode = (values) =>
        encodeAbiParameters(ACTION_TUPLE, [
          tag,
          all.length === 0 ? '0x' : encodeAbiParameters(all as AbiParameter[], values),
        ])
      matches = (calldata) => {
        try {
          return decodeAbiParameters(ACTION_TUPLE, calldata)[0] === tag
        } catch {
          return false
        }
      }
    } else {
      const fnName = raw['function'] ?? actionName
      const fns = (actionAbi as unknown[]).filter(
        (x): x is AbiFunction => isObject(x) && x['type'] === 'function' && x['name'] === fnName,
      )
      if (fns.length !== 1)
        throw bad(
          `${field}.function`,
          fns.length === 0
            ? `no function ${String(fnName)} in the action ABI`
            : `${String(fnName)} is overloaded`,
        )
      const fn = fns[0]!
      const params = checkParams(`${field} (function ${fn.name} inputs)`, fn.inputs)
      const fill = raw['fill'] ?? {}
      if (!isObject(fill)) throw bad(`${field}.fill`, 'an object: input name to { readings | answers }')
      for (const k of Object.keys(fill))
        if (!params.some((p) => p.name === k)) throw bad(`${field}.fill.${k}`, `not an input of ${fn.name}`)
      all = params.map((p) =>
        fill[p.name] === undefined
          ? p
          : { ...p, from: checkFill(`${field}.fill.${p.name}`, p, fill[p.name]) },
      )
      let selector: Hex
      try {
        selector = toFunctionSelector(fn)
      } catch {
        throw bad(`${field}.function`, `${fn.name} is malformed in the action ABI`)
      }
      encode = (values) => encodeFunctionData({ abi: [fn], functionName: fn.name, args: values })
      matches = (calldata) => calldata.slice(0, 10).toLowerCase() === selector
    }
    const spec: ActionPlan = {
      name: actionName,
      args: all.filter((a) => a.from === undefined),
      filled: all.flatMap((a) => (a.from === undefined ? [] : [{ name: a.name, from: a.from }])),
      by: byIdx,
      all,
      encode,
      matches,
    }
    if (description !== undefined) spec.description = description
    return spec
  })
  const names = new Set<string>()
  for (const [i, p] of plans.entries()) {
    if (names.has(p.name)) throw bad(`actions[${i}].name`, `${p.name} twice`)
    names.add(p.name)
  }

  const invalid = (why: string, details: string[] = [], channelId?: Hex) =>
    new ChanvmError('INVALID_ARGUMENT', why, channelId === undefined ? { details } : { details, channelId })

  const fill = (from: InputFill, argName: string, ctx: ActionContext): unknown => {
    let d: Record<string, unknown>
    try {
      d = decodeFields(ctx.base.appData)
    } catch {
      throw invalid(`${argName}: the channel's state does not decode as ${name}'s`, [], ctx.channelId)
    }
    if ('readings' in from) {
      const r = from.readings
      const device = d[r.device] as Hex
      const after = r.after === undefined ? 0n : (d[r.after] as bigint)
      const kind = r.kind === undefined ? undefined : textToBytes32(r.kind).toLowerCase()
      const unit = r.unit === undefined ? undefined : textToBytes32(r.unit).toLowerCase()
      const lo = r.from === undefined ? undefined : BigInt(d[r.from] as bigint)
      const hi = r.until === undefined ? undefined : BigInt(d[r.until] as bigint)
      const readings = ctx.inputs
        .readings(device, after)
        .filter(
          (x) =>
            (kind === undefined || x.reading.kind.toLowerCase() === kind) &&
            (unit === undefined || x.reading.unit.toLowerCase() === unit) &&
            (lo === undefined || x.reading.timestamp >= lo) &&
            (hi === undefined || x.reading.timestamp < hi),
        )
        .slice(0, r.max ?? 32)
      if (readings.length < (r.min ?? 1))
        throw invalid(
          `${argName}: no verified reading of device ${device} above sequence ${after}`,
          [`argument: ${argName}`],
          ctx.channelId,
        )
      return readings.map((x) => ({ reading: x.reading, sig: oracleSignatureToStruct(x.signature) }))
    }
    const a = from.answers
    const q = d[a.question]
    const questionId =
      typeof q === 'string' && !/^0x[0-9a-fA-F]{64}$/.test(q) ? keccak256(stringToHex(q)) : (q as Hex)
    const listed = new Set((d[a.signers] as readonly Hex[]).map((s) => s.toLowerCase()))
    const answer = a.answer === undefined ? undefined : textToBytes32(a.answer).toLowerCase()
    const found = ctx.inputs
      .answers(questionId)
      .filter(
        (x) =>
          listed.has(x.signer.toLowerCase()) &&
          (answer === undefined || x.signed.answer.answer.toLowerCase() === answer),
      )
    const need = a.quorum === undefined ? Math.max(found.length, 1) : Number(d[a.quorum] as bigint | number)
    if (found.length < need)
      throw invalid(
        `${argName}: ${found.length} of the ${need}${a.answer === undefined ? '' : ` "${a.answer}"`} answers needed have been verified for ${String(q)}`,
        [`argument: ${argName}`],
        ctx.channelId,
      )
    return found
      .slice(0, need)
      .map((x) => ({ answer: x.signed.answer, sig: oracleSignatureToStruct(x.signed.signature) }))
  }

  /** The action's plan once the sender's arguments are all there and of their types. */
  const planFor = (action: string, args: Readonly<Record<string, unknown>>, channelId?: Hex): ActionPlan => {
    const plan = plans.find((p) => p.name === action)
    if (plan === undefined)
      throw invalid(
        `${name} has no action ${action} (it has ${plans.map((p) => p.name).join(', ')})`,
        [`action: ${action}`],
        channelId,
      )
    if (!isObject(args)) throw invalid(`${action}: the arguments are an object`, [], channelId)
    for (const k of Object.keys(args)) {
      if (plan.filled.some((f) => f.name === k))
        throw invalid(
          `${action}: ${k} is filled by the node from its verified inputs, not given`,
          [`argument: ${k}`],
          channelId,
        )
      if (!plan.args.some((a) => a.name === k))
        throw invalid(
          `${action}: ${k} is not an argument of ${action} (its arguments: ${plan.args.map((a) => a.name).join(', ') || 'none'})`,
          [`argument: ${k}`],
          channelId,
        )
    }
    for (const a of plan.args) {
      if (!Object.hasOwn(args, a.name))
        throw invalid(
          `${action}: ${a.name} is missing`,
          [`argument: ${a.name}`, `expected: ${abiTypeText(a)}`],
          channelId,
        )
      jsonToAbiValue(a, args[a.name], a.name)
    }
    return plan
  }

  const stateJson = (appData: Hex): { [k: string]: JsonValue } => {
    let d: Record<string, unknown>
    try {
      d = decodeFields(appData)
    } catch {
      throw invalid(`the app data does not decode as ${name}'s state`)
    }
    return Object.fromEntries(fields.map((f) => [f.name, abiValueToJson(f, d[f.name])]))
  }

  const module: AppModule = {
    name,
    roles: roleNames,
    artifact,
    terms: termParams,
    actions: plans.map(({ name: n, args, filled, by, description: text }) => ({
      name: n,
      args,
      filled,
      by,
      ...(text === undefined ? {} : { description: text }),
    })),
    initialAppData(given) {
      if (!isObject(given)) throw invalid('open request: terms must be an object', ['argument: terms'])
      for (const k of Object.keys(given))
        if (!(terms as string[]).includes(k))
          throw invalid(
            `open request: terms.${k} is not a term of ${name} (its terms: ${(terms as string[]).join(', ') || 'none'})`,
            [`argument: terms.${k}`],
          )
      const values: Record<string, unknown> = { ...fixed }
      for (const t of termParams) {
        if (!Object.hasOwn(given, t.name))
          throw invalid(`open request: terms.${t.name} is missing`, [
            `argument: terms.${t.name}`,
            `expected: ${abiTypeText(t)}`,
          ])
        values[t.name] = jsonToAbiValue(t, given[t.name], `terms.${t.name}`)
      }
      return encodeFields(values)
    },
    checkAction(action, args) {
      planFor(action, args)
    },
    encodeAction(action, args, ctx) {
      const plan = planFor(action, args, ctx.channelId)
      const values = plan.all.map((a) =>
        a.from !== undefined ? fill(a.from, a.name, ctx) : jsonToAbiValue(a, args[a.name], a.name),
      )
      return plan.encode(values)
    },
    actionName(calldata) {
      return plans.find((p) => p.matches(calldata))?.name
    },
    decodeState: stateJson,
    describeState(appData): AppStateDescription {
      let json: { [k: string]: JsonValue }
      try {
        json = stateJson(appData)
      } catch {
        return { headline: 'the app data does not decode', fields: [] }
      }
      return {
        headline: `${name} state`,
        fields: Object.entries(json).map(([k, v]) => ({
          name: k,
          label: k,
          value: typeof v === 'string' ? v : JSON.stringify(v),
        })),
      }
    },
  }
  return module
}
