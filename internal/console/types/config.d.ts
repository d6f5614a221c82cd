// config.js is not a file: the server writes it for each deployment (console.go,
// pageConfig). This declares its shape for the type check only (tsconfig.json's rootDirs
// lets "./config.js" resolve here); TestConfigDeclaration keeps it equal to pageConfig.
declare const config: {
  mode: "local" | "aws";
  hiddenUsername: string;
  sessionSeconds: number;
  cognito?: {
    domain: string;
    clientId: string;
    redirectUri?: string;
    logoutUri?: string;
    scopes: string;
  };
};
export default config;
