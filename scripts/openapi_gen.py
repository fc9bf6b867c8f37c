# Writes docs/openapi.json (run from the repository root after changing a route).
import json
err={"$ref":"#/components/schemas/Error"}
def resp(desc, schema=None, headers=None):
    r={"description":desc}
    if schema: r["content"]={"application/json":{"schema":schema}}
    if headers: r["headers"]=headers
    return r
def errors(*codes):
    names={400:"Malformed request",401:"Missing or invalid API key, JWT or client certificate",403:"The caller's roles do not allow this",404:"No such sandbox (or another tenant's)",409:"Conflict",413:"Body too large",429:"Rate limited (see Retry-After)",503:"No node reachable or too many connections"}
    return {str(c):resp(names[c], err) for c in codes}
sandbox_id={"name":"sandboxID","in":"path","required":True,"schema":{"type":"string"}}
envd_headers=[{"name":"E2b-Sandbox-Id","in":"header","required":True,"schema":{"type":"string"}},
              {"name":"E2b-Sandbox-Port","in":"header","schema":{"type":"string","example":"49983"}},
              {"name":"X-Access-Token","in":"header","schema":{"type":"string"},"description":"envdAccessToken from create/connect"}]
def rpc(summary, req, res, streaming=False):
    ct="application/connect+json" if streaming else "application/json"
    responses={"200":{"description":("Connect server stream: envelopes [flags][u32 length][JSON], ending with an end-of-stream envelope (flag 0x02)" if streaming else "The response message (proto3 JSON)"),"content":{ct:{"schema":res}}},
               "401":resp("Missing or wrong access token",err)}
    if not streaming: responses["4XX"]=resp("Connect error {code, message}")
    return {"post":{"tags":["in-sandbox"],"summary":summary,"parameters":envd_headers,"security":[],
        "requestBody":{"required":True,"content":{ct:{"schema":req}}},"responses":responses}}
obj=lambda **p: {"type":"object","properties":p}
s=lambda: {"type":"string"}
i=lambda: {"type":"integer"}
b=lambda: {"type":"boolean"}
arr=lambda x: {"type":"array","items":x}
selector=obj(pid=i(),tag=s())
entry={"$ref":"#/components/schemas/EntryInfo"}
strmap={"type":"object","additionalProperties":{"type":"string"}}
code_headers=[envd_headers[0],{"name":"E2b-Sandbox-Port","in":"header","required":True,"schema":{"type":"string","enum":["49999"]}},envd_headers[2]]
context_id={"name":"contextID","in":"path","required":True,"schema":{"type":"string"}}
context=obj(id=s(),language=s(),cwd=s(),is_default=b(),ready=b(),busy=b(),execution_count=i())
logs_proc=obj(pid=i(),argv=arr(s()),tag=s(),running=b(),exitCode={"type":"integer","nullable":True},stdout=s(),stderr=s(),truncated=b())
doc={
 "openapi":"3.0.3",
 "info":{"title":"SoulBox gateway","version":"0.1.0","description":"E2B's public API (control plane and in-sandbox envd API) served by soulbox-gateway, plus SoulBox's /v1 extensions. See docs/gateway.md."},
 "servers":[{"url":"http://127.0.0.1:3000"}],
 "security":[{"ApiKey":[]},{"Bearer":[]},{"MutualTLS":[]}],
 "components":{
  "securitySchemes":{
   "ApiKey":{"type":"apiKey","in":"header","name":"X-API-Key","description":"sb_<id>_<secret>"},
   "Bearer":{"type":"http","scheme":"bearer","description":"An API key, or a JWT (HS256/RS256/ES256) naming tenant and roles"},
   "MutualTLS":{"type":"mutualTLS","description":"A client certificate from the configured CA: CN principal, O tenant, OU roles"}},
  "schemas":{
   "Error":obj(code=i(),message=s()),
   "NewSandbox":{"type":"object","required":["templateID"],"additionalProperties":False,
     "description":"E2B's create body. A field SoulBox does not honour is refused (400 naming it) at any value that asks for something it does not do: mcp and iam at any value, and every field not in E2B's schema.",
     "properties":{"templateID":{"type":"string","minLength":1,"description":"required: base, code-interpreter-v1, ..."},
      "timeout":{"type":"integer","description":"seconds, default 300, at most 30 days"},"metadata":strmap,"envVars":strmap,"autoPause":b(),
      "autoPauseMemory":{"type":"boolean","enum":[True],"description":"true only: a paused sandbox keeps its memory"},
      "autoResume":obj(enabled={"type":"boolean","enum":[False],"description":"false only: a paused sandbox resumes through connect"}),
      "secure":{"type":"boolean","enum":[True],"description":"true only: the in-sandbox API always requires the access token"},
      "allow_internet_access":{"type":"boolean","description":"false: sandboxes have loopback only. true is refused, except on POST /sandboxes, where E2B's SDKs up to 2.45 send it on every create (the sandbox still has loopback only)"},
      "network":{"type":"object","maxProperties":0,"description":"{} only: no egress rules (loopback only)"},
      "volumeMounts":{"type":"array","maxItems":0,"items":{"type":"object"},"description":"[] only: volumes are not supported yet"}}},
   "CreatedSandbox":obj(sandboxID=s(),templateID=s(),clientID=s(),envdVersion=s(),envdAccessToken=s(),trafficAccessToken={"type":"string","nullable":True},domain={"type":"string","nullable":True}),
   "Sandbox":obj(sandboxID=s(),templateID=s(),clientID=s(),alias=s(),metadata=strmap,startedAt={"type":"string","format":"date-time"},endAt={"type":"string","format":"date-time"},state={"type":"string","enum":["running","paused"]},cpuCount=i(),memoryMB=i(),diskSizeMB=i(),envdVersion=s()),
   "Metric":obj(timestamp={"type":"string","format":"date-time"},timestampUnix=i(),cpuUsedPct={"type":"number"},cpuCount=i(),memUsed=i(),memTotal=i(),memCache=i(),diskUsed=i(),diskTotal=i()),
   "EntryInfo":obj(name=s(),type={"type":"string","enum":["FILE_TYPE_FILE","FILE_TYPE_DIRECTORY","FILE_TYPE_SYMLINK"]},path=s(),size={"type":"string","description":"int64 as a string"},mode=i(),permissions=s(),owner=s(),group=s(),modifiedTime={"type":"string","format":"date-time"},symlinkTarget=s()),
   "ProcessConfig":obj(cmd=s(),args=arr(s()),envs=strmap,cwd=s()),
   "ProcessEvent":{"type":"object","description":"One of start{pid}, data{stdout|stderr|pty: base64}, end{exitCode, exited, status, error?}, keepalive{}","properties":{"event":{"type":"object"}}},
   "Logs":obj(sandboxID=s(),processes=arr(logs_proc)),
  }},
 "paths":{
  "/v2/sandboxes":{
   "post":{"tags":["sandboxes"],"summary":"Create a sandbox (also POST /sandboxes)","requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/NewSandbox"}}}},
     "responses":{"201":resp("Created",{"$ref":"#/components/schemas/CreatedSandbox"}),**errors(400,401,403,404,429,503)}},
   "get":{"tags":["sandboxes"],"summary":"List the caller's sandboxes on every live node (also GET /sandboxes)",
     "parameters":[{"name":"metadata","in":"query","schema":s(),"description":"url-encoded k=v&k2=v2, all must match"},{"name":"state","in":"query","schema":s(),"description":"running,paused"},{"name":"template","in":"query","schema":s()},{"name":"startedAfter","in":"query","schema":i(),"description":"unix seconds"},{"name":"order","in":"query","schema":{"type":"string","enum":["asc","desc"]}},{"name":"limit","in":"query","schema":{"type":"integer","maximum":1000,"default":100}},{"name":"nextToken","in":"query","schema":s()}],
     "responses":{"200":resp("A page",arr({"$ref":"#/components/schemas/Sandbox"}),{"X-Next-Token":{"schema":s(),"description":"present when there are more"}}),**errors(400,401,429)}}},
  "/sandboxes/{sandboxID}":{"parameters":[sandbox_id],
   "get":{"tags":["sandboxes"],"summary":"A sandbox's details","responses":{"200":resp("The sandbox",{"$ref":"#/components/schemas/Sandbox"}),**errors(401,403,404)}},
   "delete":{"tags":["sandboxes"],"summary":"Kill a sandbox","responses":{"204":{"description":"Killed"},**errors(401,403,404)}}},
  "/sandboxes/{sandboxID}/timeout":{"parameters":[sandbox_id],"post":{"tags":["sandboxes"],"summary":"Set the remaining lifetime","requestBody":{"content":{"application/json":{"schema":obj(timeout={"type":"integer","description":"seconds"})}}},"responses":{"204":{"description":"Set"},**errors(400,401,403,404)}}},
  "/sandboxes/{sandboxID}/pause":{"parameters":[sandbox_id],"post":{"tags":["sandboxes"],"summary":"Freeze a sandbox","responses":{"204":{"description":"Paused"},**errors(401,403,404,409)}}},
  "/v2/sandboxes/{sandboxID}/connect":{"parameters":[sandbox_id],"post":{"tags":["sandboxes"],"summary":"Connect, resuming a paused sandbox (also /sandboxes/{id}/connect and /resume)","requestBody":{"content":{"application/json":{"schema":obj(timeout=i())}}},"responses":{"200":resp("Running",{"$ref":"#/components/schemas/CreatedSandbox"}),"201":resp("Resumed",{"$ref":"#/components/schemas/CreatedSandbox"}),**errors(400,401,403,404)}}},
  "/sandboxes/{sandboxID}/metrics":{"parameters":[sandbox_id,{"name":"start","in":"query","schema":i()},{"name":"end","in":"query","schema":i()}],"get":{"tags":["sandboxes"],"summary":"Resource samples (one a second)","responses":{"200":resp("Samples",arr({"$ref":"#/components/schemas/Metric"})),**errors(400,401,403,404)}}},
  "/v1/sandboxes/{sandboxID}/logs":{"parameters":[sandbox_id,{"name":"pid","in":"query","schema":i()},{"name":"tail","in":"query","schema":i(),"description":"last N lines of each"}],"get":{"tags":["soulbox"],"summary":"What the sandbox's processes wrote (kept by its agent)","responses":{"200":resp("Logs",{"$ref":"#/components/schemas/Logs"}),**errors(400,401,403,404)}}},
  "/v1/sandboxes/{sandboxID}/files/sign":{"parameters":[sandbox_id],"post":{"tags":["soulbox"],"summary":"Issue a signed URL for one file (read or write), with an expiry and optionally single use; the caller must have that access now","requestBody":{"content":{"application/json":{"schema":obj(path=s(),operation={"type":"string","enum":["read","write"]},expires_in={"type":"integer","default":300,"maximum":86400},single_use=b(),user={"type":"string","enum":["user","root"]})}}},"responses":{"200":resp("Issued",obj(url=s(),expiresAt=i(),singleUse=b())),**errors(400,401,403,404)}}},
  "/v1/sandboxes/{sandboxID}/files":{"parameters":[sandbox_id,{"name":"path","in":"query","required":True,"schema":s()},{"name":"signature","in":"query","required":True,"schema":s()},{"name":"signature_expiration","in":"query","schema":i()},{"name":"nonce","in":"query","schema":s()},{"name":"username","in":"query","schema":s()}],
   "get":{"tags":["soulbox"],"security":[],"summary":"Download through a signed URL (the URL is the credential)","responses":{"200":{"description":"The bytes","content":{"application/octet-stream":{}}},"401":resp("Missing, wrong, expired or already used signature",err),**errors(404)}},
   "post":{"tags":["soulbox"],"security":[],"summary":"Upload one file through a signed write URL, to its path: a raw body, or multipart with exactly one part (its filename is ignored)","requestBody":{"content":{"application/octet-stream":{},"multipart/form-data":{}}},"responses":{"200":resp("Written",arr(obj(path=s(),name=s(),type=s()))),"400":resp("More than one part, or no path: nothing written",err),"401":resp("Missing, malformed, wrong, expired or already used signature",err)}}},
  "/v1/tenants/{tenant}":{"parameters":[{"name":"tenant","in":"path","required":True,"schema":s()}],"put":{"tags":["admin"],"summary":"Create or change a tenant (system tenant's admins)","requestBody":{"content":{"application/json":{"schema":obj(maxConcurrent=i(),maxTotal=i(),maxCpus={"type":"number"},maxMemoryBytes=i(),maxStorageBytes=i(),auditRetentionS=i(),auditRedact=b())}}},"responses":{"200":resp("Stored",obj(tenant=s())),**errors(400,401,403)}}},
  "/v1/tenants/{tenant}/usage":{"parameters":[{"name":"tenant","in":"path","required":True,"schema":s()}],"get":{"tags":["admin"],"summary":"Current usage","responses":{"200":resp("Usage",obj(tenant=s(),running=i(),createdTotal=i(),cpus={"type":"number"},memoryBytes=i())),**errors(401,403,404)}}},
  "/v1/tenants/{tenant}/keys":{"parameters":[{"name":"tenant","in":"path","required":True,"schema":s()}],
   "post":{"tags":["admin"],"summary":"Create an API key (shown once)","requestBody":{"content":{"application/json":{"schema":obj(roles=arr(s()),ttlS=i())}}},"responses":{"201":resp("Created",obj(keyID=s(),key=s())),**errors(400,401,403,404)}},
   "get":{"tags":["admin"],"summary":"The tenant's keys (never their secrets)","responses":{"200":resp("Keys",arr(obj(keyID=s(),roles=arr(s()),expiresUnixMs=i(),revoked=b(),lastUsedUnixMs=i()))),**errors(401,403,404)}}},
  "/v1/tenants/{tenant}/keys/{keyID}":{"parameters":[{"name":"tenant","in":"path","required":True,"schema":s()},{"name":"keyID","in":"path","required":True,"schema":s()}],"delete":{"tags":["admin"],"summary":"Revoke a key","responses":{"204":{"description":"Revoked"},**errors(401,403,404)}}},
  "/v1/tenants/{tenant}/roles/{role}":{"parameters":[{"name":"tenant","in":"path","required":True,"schema":s()},{"name":"role","in":"path","required":True,"schema":s()}],"put":{"tags":["admin"],"summary":"Define a tenant's own role","requestBody":{"content":{"application/json":{"schema":obj(parents=arr(s()),permissions=arr({"type":"string","description":"resource:action[:own]"}))}}},"responses":{"200":resp("Defined",obj(role=s(),parents=arr(s()),permissions=arr(s()))),**errors(400,401,403,404)}}},
  "/v1/nodes":{"get":{"tags":["admin"],"summary":"Live nodes and their capacity (system tenant's admins)","responses":{"200":resp("Nodes",arr(obj(node=s(),status=s(),version=s(),region=s(),sandboxes=i(),cpuCapacity={"type":"number"},cpuFree={"type":"number"},memoryCapacityBytes=i(),memoryFreeBytes=i()))),**errors(401,403)}}},
  "/v1/nodes/{node}/pool":{"parameters":[{"name":"node","in":"path","required":True,"schema":s()}],"get":{"tags":["admin"],"summary":"A node's warm pools","responses":{"200":resp("Pools",arr(obj(template=s(),strategy=s(),warm=i(),minWarm=i(),maxSize=i(),hits=i(),misses=i(),acquireP50Us={"type":"number"},acquireP99Us={"type":"number"}))),**errors(401,403,404)}}},
  "/v1/jobs":{"post":{"tags":["jobs"],"summary":"Submit a job (authorised by the caller's API key; one result per jobID, runs at least once)","requestBody":{"content":{"application/json":{"schema":obj(jobID=s(),language=s(),code=s(),command=arr(s()),files=strmap,env=strmap,stdin=s(),timeoutMs=i(),memoryBytes=i(),artifacts=arr(s()))}}},"responses":{"202":resp("Queued",obj(jobID=s(),duplicate=b())),**errors(400,401,403,503)}}},
  "/v1/jobs/{jobID}":{"parameters":[{"name":"jobID","in":"path","required":True,"schema":s()}],"get":{"tags":["jobs"],"summary":"A job's result (404 while queued or running)","responses":{"200":resp("Result",obj(jobID=s(),status={"type":"string","enum":["completed","failed","dead"]},exitCode=i(),signal=i(),timedOut=b(),stdout=s(),stderr=s(),node=s(),attempts=i(),error=s(),startedAt=i(),finishedAt=i(),artifacts={"type":"object","additionalProperties":{"type":"string","format":"byte"}})),**errors(401,404)}}},
  "/v1/audit":{"get":{"tags":["admin"],"summary":"Audit records from every node (SB_AUDIT), each node's chain checked (order, links, digests, hashes); admins: their tenant, system admins: all","parameters":[{"name":n,"in":"query","schema":s()} for n in ("tenant","principal","action","resource")]+[{"name":n,"in":"query","schema":i()} for n in ("from_ms","to_ms","limit")]+[{"name":"format","in":"query","schema":{"type":"string","enum":["json","csv","syslog"]}}],"responses":{"200":{"description":"One record per line (JSON lines, CSV with a header, or RFC 5424)","headers":{"X-Audit-Chains":{"schema":s(),"description":"per node: records, linked, why"}},"content":{"application/x-ndjson":{},"text/plain":{}}},**errors(400,401,403,404,503)}}},
  "/health":{"get":{"tags":["operations"],"security":[],"summary":"The gateway and its view of the nodes (in-sandbox: 204)","responses":{"200":resp("At least one node is reachable",obj(status=s(),nodes=i())),"503":resp("No node is reachable")}}},
  "/version":{"get":{"tags":["operations"],"security":[],"summary":"Versions","responses":{"200":resp("Versions",obj(version=s(),envdVersion=s()))}}},
  "/metrics":{"get":{"tags":["operations"],"security":[],"summary":"Prometheus text format","responses":{"200":{"description":"Metrics","content":{"text/plain":{"schema":s()}}}}}},
  "/openapi.json":{"get":{"tags":["operations"],"security":[],"summary":"This document","responses":{"200":{"description":"OpenAPI 3"}}}},
  "/files":{
   "get":{"tags":["in-sandbox"],"security":[],"summary":"Download a file","parameters":envd_headers+[{"name":"path","in":"query","required":True,"schema":s()},{"name":"username","in":"query","schema":{"type":"string","enum":["user","root"]}},{"name":"signature","in":"query","schema":s()},{"name":"signature_expiration","in":"query","schema":i()}],
     "responses":{"200":{"description":"The bytes","content":{"application/octet-stream":{}}},**errors(400,401,403,404)}},
   "post":{"tags":["in-sandbox"],"security":[],"summary":"Upload files (multipart: one part per file, the path in the filename; or raw octet-stream with path; Content-Encoding gzip allowed). With a signed URL instead of the access token: exactly one file, written to the signed path","parameters":envd_headers+[{"name":"path","in":"query","schema":s()},{"name":"username","in":"query","schema":s()},{"name":"signature","in":"query","schema":s()},{"name":"signature_expiration","in":"query","schema":i()}],
     "requestBody":{"content":{"multipart/form-data":{},"application/octet-stream":{}}},
     "responses":{"200":resp("Written",arr(obj(path=s(),name=s(),type=s()))),**errors(400,401,403,413)}}},
  "/process.Process/Start":rpc("Start a process; stream its events",obj(process={"$ref":"#/components/schemas/ProcessConfig"},pty=obj(size=obj(cols=i(),rows=i())),tag=s(),stdin=b()),{"$ref":"#/components/schemas/ProcessEvent"},True),
  "/process.Process/Connect":rpc("Follow a running process",obj(process=selector),{"$ref":"#/components/schemas/ProcessEvent"},True),
  "/process.Process/List":rpc("Running processes",obj(),obj(processes=arr(obj(pid=i(),tag=s(),config={"$ref":"#/components/schemas/ProcessConfig"})))),
  "/process.Process/SendInput":rpc("Send stdin or PTY input",obj(process=selector,input=obj(stdin=s(),pty=s())),obj()),
  "/process.Process/CloseStdin":rpc("Close stdin",obj(process=selector),obj()),
  "/process.Process/SendSignal":rpc("SIGKILL or SIGTERM",obj(process=selector,signal={"type":"string","enum":["SIGNAL_SIGKILL","SIGNAL_SIGTERM"]}),obj()),
  "/process.Process/Update":rpc("Resize a PTY",obj(process=selector,pty=obj(size=obj(cols=i(),rows=i()))),obj()),
  "/filesystem.Filesystem/Stat":rpc("Stat a path",obj(path=s()),obj(entry=entry)),
  "/filesystem.Filesystem/ListDir":rpc("List a directory",obj(path=s(),depth=i()),obj(entries=arr(entry))),
  "/filesystem.Filesystem/MakeDir":rpc("Make a directory (already_exists when it does)",obj(path=s()),obj(entry=entry)),
  "/filesystem.Filesystem/Move":rpc("Rename",obj(source=s(),destination=s()),obj(entry=entry)),
  "/filesystem.Filesystem/Remove":rpc("Remove (recursively)",obj(path=s()),obj()),
  "/execute":{"post":{"tags":["code-interpreter"],"security":[],"summary":"Run a cell in a code context (E2b-Sandbox-Port: 49999): its events as NDJSON lines, ending with end_of_execution (docs/code-interpreter.md)","parameters":code_headers,
     "requestBody":{"required":True,"content":{"application/json":{"schema":obj(code=s(),context_id=s(),language={"type":"string","enum":["python","javascript","bash","ruby","java"]},env_vars=strmap,timeout_ms=i())}}},
     "responses":{"200":{"description":"One JSON object per line: number_of_executions, stdout, stderr, result, error, keepalive, artifacts, end_of_execution","content":{"application/x-ndjson":{"schema":{"type":"object"}}}},**errors(400,401),"404":{"description":"Context <id> not found (text)","content":{"text/plain":{}}}}}},
  "/contexts":{
   "post":{"tags":["code-interpreter"],"security":[],"summary":"Create a code context","parameters":code_headers,"requestBody":{"content":{"application/json":{"schema":obj(language=s(),cwd=s())}}},"responses":{"200":resp("The context",context),**errors(400,404)}},
   "get":{"tags":["code-interpreter"],"security":[],"summary":"Every code context of the sandbox","parameters":code_headers,"responses":{"200":resp("Contexts",arr(context)),**errors(404)}}},
  "/contexts/{contextID}":{"delete":{"tags":["code-interpreter"],"security":[],"summary":"Remove a context","parameters":code_headers+[context_id],"responses":{"204":{"description":"Removed"},"404":{"description":"Context <id> not found (text)"}}}},
  "/contexts/{contextID}/restart":{"post":{"tags":["code-interpreter"],"security":[],"summary":"A fresh kernel for the context (its state is gone)","parameters":code_headers+[context_id],"responses":{"200":resp("The context",context),"404":{"description":"Context <id> not found (text)"}}}},
  "/contexts/{contextID}/interrupt":{"post":{"tags":["code-interpreter"],"security":[],"summary":"Interrupt the running cell (SoulBox's own); the state stays","parameters":code_headers+[context_id],"responses":{"200":{"description":"Interrupted"},"404":{"description":"Context <id> not found (text)"}}}},
  "/filesystem.Filesystem/WatchDir":rpc("Stream changes under a directory",obj(path=s(),recursive=b(),includeEntry=b()),{"type":"object","description":"start{}, filesystem{name, type, entry?}, keepalive{}"},True),
 }}
open('docs/openapi.json','w').write(json.dumps(doc,indent=1)+"\n")
print(len(json.dumps(doc)))
