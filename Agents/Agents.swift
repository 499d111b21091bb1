// Agents: DQN, A2C and PPO with MLP, LSTM and ego-attention encoders. Imports Sim and Neural, never
// Environments: an agent sees an environment only through the contract and its spaces.
import Neural
import Sim
